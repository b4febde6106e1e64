"""Students' data rights: everything held about one student as a ZIP (`GET
/v1/students/{user_id}/data-export`), and the erasure of their personal data, keeping anonymous
aggregates under a pseudonym (`POST /v1/students/{user_id}/erase`). Here, above students and
accounts, because both reach the student's sessions, transcripts, grades and grants too."""
