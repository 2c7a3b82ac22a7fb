// Applies pending database migrations to DATABASE_URL.
import { getConfig } from "../app/lib/config.server";
import { migrateDatabase } from "../app/lib/db-migrate.server";

const applied = await migrateDatabase(getConfig().DATABASE_URL);
console.log(applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
