-- AlterTable
-- A plain ADD COLUMN (not a table rebuild): dropping and re-creating "Delivery" inside a transaction would
-- cascade-delete its attempts, because SQLite ignores PRAGMA foreign_keys=OFF within a transaction.
ALTER TABLE "Delivery" ADD COLUMN "attemptsBeforeReplay" INTEGER NOT NULL DEFAULT 0;
