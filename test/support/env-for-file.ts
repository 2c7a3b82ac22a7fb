/**
 * Sets environment variables for the rest of a test file. The app reads its settings once per process, so call
 * this before any of the app is loaded (import the app dynamically after it). Returns what puts the earlier
 * values back, for afterAll.
 */
export function setEnvForFile(values: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
