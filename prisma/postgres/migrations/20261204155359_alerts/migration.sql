-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "alertEmail" TEXT,
ADD COLUMN     "alertsEnabled" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "ownerEmail" TEXT,
ADD COLUMN     "ownerEmailCheckedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Destination" ADD COLUMN     "alertClaimedUntil" TIMESTAMP(3),
ADD COLUMN     "alertSentAt" TIMESTAMP(3),
ADD COLUMN     "alertState" TEXT NOT NULL DEFAULT 'none',
ADD COLUMN     "failingSince" TIMESTAMP(3);

