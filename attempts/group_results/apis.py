"""GET /v1/student-groups/{id}/results (SPEC §7.6): a group's aggregated results."""
from drf_spectacular.utils import extend_schema

from attempts.group_results.selectors import RESULTS_RULES, student_group_results
from attempts.group_results.serializers import GroupResultsEnvelope, GroupResultsSerializer
from config.api import ok
from config.replicas import LagTolerantReadsMixin
from students.groups.apis import TAG_GROUPS, GroupsApi, path_id, responses
from students.groups.selectors import student_group_get


class GroupResultsApi(LagTolerantReadsMixin, GroupsApi):
    @extend_schema(
        tags=[TAG_GROUPS],
        summary="A group's aggregated results",
        description=RESULTS_RULES,
        responses=responses({200: GroupResultsEnvelope}, not_found=True),
    )
    def get(self, request, group_id):
        group = student_group_get(group_id=path_id(group_id))
        return ok(GroupResultsSerializer(student_group_results(group=group)).data)
