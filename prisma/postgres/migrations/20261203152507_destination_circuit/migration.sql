-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "circuitOpenedAt" TIMESTAMP(3),
ADD COLUMN     "circuitRetryAt" TIMESTAMP(3);

