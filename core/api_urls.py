"""Fallback for unknown paths under /2010-04-01: Twilio's 20404, after authentication like any other."""

from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import not_found


class UnknownResourceView(APIView):
    schema = None  # not part of the published API

    def dispatch_unknown(self, request: Request, *args: object, **kwargs: object) -> None:
        raise not_found(request.path)

    get = post = put = patch = delete = dispatch_unknown
