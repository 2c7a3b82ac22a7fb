import { getConfig, type AppConfig } from "../lib/config.server";
import type { KeyRing } from "../lib/secret-box.server";

/** The master keys for secrets at rest, from ENCRYPTION_KEYS: the highest version encrypts, every listed one decrypts. */
export function keyRingFromConfig(config: Pick<AppConfig, "ENCRYPTION_KEYS" | "currentKeyVersion"> = getConfig()): KeyRing {
  return { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion };
}
