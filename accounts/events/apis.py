from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.events.filters import EventFeedFilter
from accounts.events.selectors import MSG_CURSOR_EXPIRED, event_feed, event_feed_filters, event_payload
from accounts.events.serializers import EventFeedPage, EventPageQuery
from accounts.permissions import EVENTS_READ, HasPermission
from config.api import validated_all
from config.errors import CURSOR_EXPIRED
from config.openapi import error_response, error_responses

FEED_DESCRIPTION = (
    "Requires EVENTS.can_read (the admin role). The tenant's events in commit order: each change of "
    "interest (a student created, updated, archived, unarchived or deleted; extra attempts granted or "
    "revoked; a student added to or removed from a group; a session completed; a final score changed; "
    "an import applied; an export done) is written in the same transaction as the change, and given "
    "its `position` when that transaction commits. Read on from the last page's `next` (`after`) and "
    "every event comes exactly once, in commit order, even while writers are busy; a page with "
    "`has_more` false has caught up (ask again later). Each event type's `data` is documented below "
    "(`Event`, by its `type`). Events are kept EVENTS_RETENTION_DAYS (30 by default): a cursor from "
    "before the oldest kept is a 410 CURSOR_EXPIRED, and a client then starts again without `after`."
)


class EventFeedApi(APIView):
    permission_classes = [HasPermission.of(EVENTS_READ)]
    filterset_class = EventFeedFilter  # validates and documents `after` and `types`

    @extend_schema(
        operation_id="events_list",
        tags=["Events"],
        summary="The change feed",
        description=FEED_DESCRIPTION,
        parameters=[EventPageQuery],  # and the filters: filterset_class
        responses={
            200: EventFeedPage,
            **error_responses(),
            410: error_response(
                "The cursor is from before the oldest event kept (CURSOR_EXPIRED): start again without `after`.",
                code=CURSOR_EXPIRED,
                status=410,
                message=MSG_CURSOR_EXPIRED,
            ),
        },
    )
    def get(self, request):
        page, filters = validated_all(request.query_params, EventPageQuery, check=event_feed_filters)
        events, next_cursor, more = event_feed(**filters, limit=page["limit"])
        return Response(
            {
                "success": True,
                "data": [event_payload(event) for event in events],
                "next": str(next_cursor),
                "has_more": more,
                "message": None,
            }
        )
