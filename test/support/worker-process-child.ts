/**
 * The `npm run worker` entry point (`runWorkerProcess`) in a process of its own, configured from the
 * environment exactly as in production, on a queue of the test's own. Prints `ready <pid>` once started;
 * exits 1 with the reason when the worker refuses to start.
 */
import { runWorkerProcess } from "../../app/runtime/processes.server";

const { queueName, prefix } = JSON.parse(process.argv[2] ?? "{}") as { queueName: string; prefix: string };
try {
  await runWorkerProcess({ deliveryQueueName: queueName, prefix });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
process.stdout.write(`ready ${process.pid}\n`);
