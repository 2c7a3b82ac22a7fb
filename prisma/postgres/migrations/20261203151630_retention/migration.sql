-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "leadRetentionMonths" INTEGER;

-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "payloadPrunedAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Delivery_payloadPrunedAt_deliveredAt_idx" ON "Delivery"("payloadPrunedAt", "deliveredAt");

-- CreateIndex
CREATE INDEX "DeliveryAttempt_startedAt_idx" ON "DeliveryAttempt"("startedAt");

