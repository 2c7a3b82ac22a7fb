-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "attemptsBeforeReplay" INTEGER NOT NULL DEFAULT 0;
