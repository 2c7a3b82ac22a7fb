/**
 * The `npm run worker` entry point (`runWorkerProcess`) in a process of its own, configured from the
 * environment exactly as in production, on a queue of the test's own. Prints `ready <pid>` once started.
 */
import { runWorkerProcess } from "../../app/delivery/runtime.server";

const { queueName, prefix } = JSON.parse(process.argv[2] ?? "{}") as { queueName: string; prefix: string };
await runWorkerProcess({ queueName, prefix });
process.stdout.write(`ready ${process.pid}\n`);
