-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN "circuitOpenedAt" DATETIME;
ALTER TABLE "WebhookEndpoint" ADD COLUMN "circuitRetryAt" DATETIME;

