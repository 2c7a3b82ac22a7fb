-- Email alerts about failing destinations. Columns are added in place (no table rebuild).
-- AlterTable
ALTER TABLE "Shop" ADD COLUMN "alertsEnabled" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "Shop" ADD COLUMN "alertEmail" TEXT;
ALTER TABLE "Shop" ADD COLUMN "ownerEmail" TEXT;
ALTER TABLE "Shop" ADD COLUMN "ownerEmailCheckedAt" DATETIME;

-- AlterTable
ALTER TABLE "Destination" ADD COLUMN "failingSince" DATETIME;
ALTER TABLE "Destination" ADD COLUMN "alertState" TEXT NOT NULL DEFAULT 'none';
ALTER TABLE "Destination" ADD COLUMN "alertSentAt" DATETIME;
ALTER TABLE "Destination" ADD COLUMN "alertClaimedUntil" DATETIME;
