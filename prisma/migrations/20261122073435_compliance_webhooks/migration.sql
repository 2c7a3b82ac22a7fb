-- CreateTable
CREATE TABLE "ProcessedWebhook" (
    "webhookId" TEXT NOT NULL PRIMARY KEY,
    "topic" TEXT NOT NULL,
    "eventId" TEXT,
    "shopDomain" TEXT NOT NULL,
    "processedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "DataRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "shopId" TEXT NOT NULL,
    "shopifyRequestId" TEXT NOT NULL,
    "customerId" TEXT,
    "customerEmail" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "fulfilledAt" DATETIME,
    CONSTRAINT "DataRequest_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- AlterTable
-- A plain ADD COLUMN (not a table rebuild): dropping and re-creating "Shop" inside a transaction would
-- cascade-delete every lead, endpoint and delivery, because SQLite ignores PRAGMA foreign_keys=OFF there.
ALTER TABLE "Shop" ADD COLUMN "sendRedactionEvents" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "ProcessedWebhook_processedAt_idx" ON "ProcessedWebhook"("processedAt");

-- CreateIndex
CREATE INDEX "ProcessedWebhook_shopDomain_idx" ON "ProcessedWebhook"("shopDomain");

-- CreateIndex
CREATE UNIQUE INDEX "ProcessedWebhook_topic_eventId_key" ON "ProcessedWebhook"("topic", "eventId");

-- CreateIndex
CREATE INDEX "DataRequest_shopId_fulfilledAt_createdAt_idx" ON "DataRequest"("shopId", "fulfilledAt", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "DataRequest_shopId_shopifyRequestId_key" ON "DataRequest"("shopId", "shopifyRequestId");

