-- Sensitivity markings on single chronology entries (police only; staff involved): an entry the viewer may
-- not see is left out of the chronology, not shown as a blank.
ALTER TABLE chronology ADD COLUMN marking TEXT CHECK (marking IS NULL OR marking IN ('police_only', 'staff_involved'));
