import { PassThrough } from "node:stream";
import { renderToPipeableStream } from "react-dom/server";
import { RemixServer } from "@remix-run/react";
import { createReadableStreamFromReadable, type ActionFunctionArgs, type EntryContext, type LoaderFunctionArgs } from "@remix-run/node";
import { isbot } from "isbot";
import { addDocumentResponseHeaders } from "./shopify.server";
import { getLogger } from "./lib/logger.server";
import { reportUnhandledError, requestLineOf, type ErrorLocation } from "./lib/error-reporting.server";
export { startInProcessWorker, runWorkerProcess, runWebProcess } from "./runtime/processes.server";
export { startBackgroundWork } from "./runtime/background.server";

/** Remix calls this for every error a loader, action or render did not handle; a client that left is no error. */
export function handleError(error: unknown, { request }: LoaderFunctionArgs | ActionFunctionArgs) {
  if (request.signal.aborted) return;
  reportUnhandledError(getLogger(), error, requestLineOf(request));
}

/** For the HTTP server (server-app.mjs): errors that escaped Remix, such as a response stream that failed. */
export function logServerError(error: unknown, where: ErrorLocation) {
  reportUnhandledError(getLogger(), error, where);
}


export const streamTimeout = 5000;

export default async function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
) {
  addDocumentResponseHeaders(request, responseHeaders);
  const callbackName = isbot(request.headers.get("user-agent") ?? "") ? "onAllReady" : "onShellReady";

  return new Promise((resolve, reject) => {
    const { pipe, abort } = renderToPipeableStream(<RemixServer context={remixContext} url={request.url} />, {
      [callbackName]: () => {
        const body = new PassThrough();
        const stream = createReadableStreamFromReadable(body);
        responseHeaders.set("Content-Type", "text/html");
        resolve(new Response(stream, { headers: responseHeaders, status: responseStatusCode }));
        pipe(body);
      },
      onShellError(error) {
        reject(error);
      },
      onError(error) {
        responseStatusCode = 500;
        reportUnhandledError(getLogger(), error, requestLineOf(request));
      },
    });
    setTimeout(abort, streamTimeout + 1000);
  });
}
