-- Appraisal e-mails (R9.4): a last place's improvement plan is reminded once when it becomes
-- overdue; the reminder marks its row here, in the transaction that queues the e-mails, so a
-- second run or another instance never sends it again. Plans already overdue before this
-- version are marked as reminded: their reminder would come late and all at once.
ALTER TABLE appraisal_rows ADD COLUMN plan_reminded_at TEXT;
UPDATE appraisal_rows SET plan_reminded_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
 WHERE last_place AND plan_at IS NULL AND plan_due < date('now');
