"""The HTML console's pages on a tenant's host (SPEC §8), gathered from the console's feature
packages under the `console:` namespace. base.html shows a "Groups" nav link as soon as
`console:groups` exists, and a "Case studies" link once `console:case_studies` exists."""
from console.attempts.urls import pages as attempts_pages
from console.audit.urls import pages as audit_pages
from console.auth.urls import pages as auth_pages
from console.case_studies.urls import pages as case_studies_pages
from console.cohorts.urls import pages as cohorts_pages
from console.dashboard.urls import pages as dashboard_pages
from console.data_rights.urls import pages as data_rights_pages
from console.exports.urls import pages as exports_pages
from console.groups.urls import pages as groups_pages
from console.identity.urls import pages as identity_pages
from console.imports.urls import pages as imports_pages
from console.records.urls import pages as records_pages
from console.students.urls import pages as students_pages
from console.webhooks.urls import pages as webhooks_pages

app_name = "console"

urlpatterns = (
    auth_pages
    + imports_pages
    + records_pages
    + data_rights_pages
    + students_pages
    + attempts_pages
    + dashboard_pages
    + groups_pages
    + case_studies_pages
    + cohorts_pages
    + audit_pages
    + exports_pages
    + webhooks_pages
    + identity_pages
)
