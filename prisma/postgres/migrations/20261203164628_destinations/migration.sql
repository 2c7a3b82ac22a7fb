-- The shop's webhook endpoint becomes a destination of kind "webhook": the table and its foreign keys are
-- renamed, never dropped, so every endpoint keeps its id (the secrets are bound to it), its secrets and
-- rotation overlap, and its deliveries, attempts and pending work.
ALTER TABLE "WebhookEndpoint" RENAME TO "Destination";
ALTER TABLE "Destination" RENAME CONSTRAINT "WebhookEndpoint_pkey" TO "Destination_pkey";
ALTER TABLE "Destination" RENAME CONSTRAINT "WebhookEndpoint_shopId_fkey" TO "Destination_shopId_fkey";
ALTER INDEX "WebhookEndpoint_shopId_state_idx" RENAME TO "Destination_shopId_state_idx";
ALTER TABLE "Destination" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'webhook',
ADD COLUMN "name" TEXT NOT NULL DEFAULT 'Webhook',
ADD COLUMN "events" TEXT NOT NULL DEFAULT '["lead_captured"]',
ADD COLUMN "productIds" TEXT,
ADD COLUMN "settings" TEXT,
ADD COLUMN "credentialsCiphertext" TEXT,
ADD COLUMN "credentialsKeyVersion" INTEGER,
ADD COLUMN "credentialsHint" TEXT;

ALTER TABLE "Delivery" RENAME COLUMN "endpointId" TO "destinationId";
ALTER TABLE "Delivery" ADD COLUMN "backfillId" TEXT;
ALTER TABLE "Delivery" RENAME CONSTRAINT "Delivery_endpointId_fkey" TO "Delivery_destinationId_fkey";
ALTER INDEX "Delivery_endpointId_createdAt_idx" RENAME TO "Delivery_destinationId_createdAt_idx";
-- One delivery per lead, destination and event; the unique index also serves lookups by lead.
DROP INDEX "Delivery_leadId_idx";
CREATE UNIQUE INDEX "Delivery_leadId_destinationId_event_key" ON "Delivery"("leadId", "destinationId", "event");

-- The shop-wide switch for redaction events becomes each destination's own choice of events.
UPDATE "Destination" SET "events" = '["lead_captured","lead_redacted"]'
WHERE "shopId" IN (SELECT "id" FROM "Shop" WHERE "sendRedactionEvents" = true);
ALTER TABLE "Shop" DROP COLUMN "sendRedactionEvents";

-- CreateTable
CREATE TABLE "Backfill" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "destinationId" TEXT NOT NULL,
    "since" TIMESTAMP(3) NOT NULL,
    "until" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "total" INTEGER NOT NULL,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "cursorCapturedAt" TIMESTAMP(3),
    "cursorLeadId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Backfill_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "Backfill_destinationId_status_idx" ON "Backfill"("destinationId", "status");
CREATE INDEX "Backfill_status_createdAt_idx" ON "Backfill"("status", "createdAt");
ALTER TABLE "Backfill" ADD CONSTRAINT "Backfill_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination"("id") ON DELETE CASCADE ON UPDATE CASCADE;
