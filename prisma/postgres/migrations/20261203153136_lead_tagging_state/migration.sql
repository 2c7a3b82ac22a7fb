-- AlterTable
ALTER TABLE "Lead" ADD COLUMN     "taggingError" TEXT,
ADD COLUMN     "taggingState" TEXT NOT NULL DEFAULT 'pending';

-- Leads already tagged are done. The others stay pending, so the tagging reconciler finally tags the
-- shoppers whose tagging job was lost.
UPDATE "Lead" SET "taggingState" = 'done' WHERE "tagged" = true;

-- CreateIndex
CREATE INDEX "Lead_taggingState_capturedAt_idx" ON "Lead"("taggingState", "capturedAt");
