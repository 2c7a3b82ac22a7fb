-- AlterTable
ALTER TABLE "Lead" ADD COLUMN     "submissionHash" TEXT;

