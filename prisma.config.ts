import { defineConfig } from "prisma/config";
import { PrismaLibSQL } from "@prisma/adapter-libsql";
import { PrismaPg } from "@prisma/adapter-pg";

// The Prisma CLI runs on its JavaScript schema engine through a driver adapter, the same adapters the
// app uses at run time. DATABASE_URL picks the database: file: is SQLite, postgresql:// is PostgreSQL.
const url = process.env.DATABASE_URL ?? "file:./dev.sqlite";
const sqlite = url.startsWith("file:");

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: sqlite ? "prisma/schema.prisma" : "prisma/postgres/schema.prisma",
  async adapter() {
    return sqlite ? new PrismaLibSQL({ url }) : new PrismaPg({ connectionString: url });
  },
});
