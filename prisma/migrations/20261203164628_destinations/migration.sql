-- The shop's webhook endpoint becomes a destination of kind "webhook". Renamed in place, never rebuilt: inside
-- the migration's transaction SQLite ignores PRAGMA foreign_keys=OFF, so dropping the table would
-- cascade-delete every delivery and attempt. RENAME TABLE also rewrites the foreign key of "Delivery", and
-- every endpoint keeps its id (the secrets are bound to it), its secrets, rotation overlap and pending work.
ALTER TABLE "WebhookEndpoint" RENAME TO "Destination";
DROP INDEX "WebhookEndpoint_shopId_state_idx";
CREATE INDEX "Destination_shopId_state_idx" ON "Destination"("shopId", "state");
ALTER TABLE "Destination" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE "Destination" ADD COLUMN "name" TEXT NOT NULL DEFAULT 'Webhook';
ALTER TABLE "Destination" ADD COLUMN "events" TEXT NOT NULL DEFAULT '["lead_captured"]';
ALTER TABLE "Destination" ADD COLUMN "productIds" TEXT;
ALTER TABLE "Destination" ADD COLUMN "settings" TEXT;
ALTER TABLE "Destination" ADD COLUMN "credentialsCiphertext" TEXT;
ALTER TABLE "Destination" ADD COLUMN "credentialsKeyVersion" INTEGER;
ALTER TABLE "Destination" ADD COLUMN "credentialsHint" TEXT;

ALTER TABLE "Delivery" RENAME COLUMN "endpointId" TO "destinationId";
ALTER TABLE "Delivery" ADD COLUMN "backfillId" TEXT;
DROP INDEX "Delivery_endpointId_createdAt_idx";
CREATE INDEX "Delivery_destinationId_createdAt_idx" ON "Delivery"("destinationId", "createdAt");
-- One delivery per lead, destination and event; the unique index also serves lookups by lead.
DROP INDEX "Delivery_leadId_idx";
CREATE UNIQUE INDEX "Delivery_leadId_destinationId_event_key" ON "Delivery"("leadId", "destinationId", "event");

-- The shop-wide switch for redaction events becomes each destination's own choice of events.
UPDATE "Destination" SET "events" = '["lead_captured","lead_redacted"]'
WHERE "shopId" IN (SELECT "id" FROM "Shop" WHERE "sendRedactionEvents" = true);
ALTER TABLE "Shop" DROP COLUMN "sendRedactionEvents";

-- CreateTable
CREATE TABLE "Backfill" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "shopId" TEXT NOT NULL,
    "destinationId" TEXT NOT NULL,
    "since" DATETIME NOT NULL,
    "until" DATETIME NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "total" INTEGER NOT NULL,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "cursorCapturedAt" DATETIME,
    "cursorLeadId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    CONSTRAINT "Backfill_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "Backfill_destinationId_status_idx" ON "Backfill"("destinationId", "status");
CREATE INDEX "Backfill_status_createdAt_idx" ON "Backfill"("status", "createdAt");
