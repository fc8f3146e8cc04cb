"""Google RPC error envelopes exactly as Cloud Code `v1internal` sends them (protocols/antigravity.md §7).

Every error the emulator answers is raised as `CloudCodeError(status, body)` and rendered in one place
(`cloudcode.py`), so a stream call gets the same body with `text/event-stream` (§5.2). The builders
below carry the structured fields gateways must classify by (`ErrorInfo.reason`, `RetryInfo`,
`quotaResetDelay`), never only message text.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
HELP_TYPE = "type.googleapis.com/google.rpc.Help"
CLOUDCODE_DOMAIN = "cloudcode-pa.googleapis.com"
COMPANION_SERVICE = "cloudaicompanion.googleapis.com"
GENERIC_INVALID_ARGUMENT = "Request contains an invalid argument."
NOT_FOUND_MESSAGE = "Requested entity was not found."
SERVER_ERROR_MESSAGE = "Internal error encountered."
BARE_429_MESSAGE = "Resource has been exhausted (e.g. check quota)."
MISSING_CREDENTIALS_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_CREDENTIALS_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
LOCALIZED_MESSAGE_TYPE = "type.googleapis.com/google.rpc.LocalizedMessage"
CLOUDCODE_SERVICE_TITLE = "Cloud Code Private API"
DEFAULT_VALIDATION_URL = "https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=emulated"
VALIDATION_MESSAGE = "Verify your account to continue."
VALIDATION_LINK_TEXT = "Verify your account"
TOS_MESSAGE = (
    "This service has been disabled in this account for violation of Terms of Service. Please submit an "
    "appeal to continue using this product."
)
DEFAULT_APPEAL_URL = "https://support.google.com/gemini/contact/antigravity_appeal"
APPEAL_LINK_TEXT = "Submit an appeal"
TOS_REASONS = frozenset({"TOS_VIOLATION", "TERMS_OF_SERVICE", "TOS_BANNED"})
SUBSCRIPTION_MESSAGE = (
    "You are missing a valid license for Gemini Code Assist: your account may lack a Gemini Code Assist "
    "license. (#3501)"
)

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class CloudCodeError(Exception):
    """An error answer: HTTP status plus the Google JSON body, raised from anywhere in a handler."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", {}).get("message", ""))
        self.status = status
        self.body = body


def envelope(code: int, message: str, details: list[dict[str, Any]] | None = None) -> CloudCodeError:
    """`{"error":{"code","message","status","details"?}}`; `details` omitted when empty, as Google does."""
    error: dict[str, Any] = {"code": code, "message": message, "status": STATUS_NAMES[code]}
    if details:
        error["details"] = details
    return CloudCodeError(code, {"error": error})


def error_info(reason: str, metadata: dict[str, str], domain: str = CLOUDCODE_DOMAIN) -> dict[str, Any]:
    return {"@type": ERROR_INFO_TYPE, "reason": reason, "domain": domain, "metadata": metadata}


def retry_info(delay_s: float) -> dict[str, Any]:
    return {"@type": RETRY_INFO_TYPE, "retryDelay": proto_duration(delay_s)}


def proto_duration(seconds: float) -> str:
    """google.protobuf.Duration JSON: `"39s"`, `"0.479417207s"`."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.9f}".rstrip("0") + "s"


def go_duration(seconds: float) -> str:
    """Go's `time.Duration.String()` rounded to whole seconds, as in "reset after 1h2m3s" (§7)."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- 400 ------------------------------------------------------------------------------------------


def invalid_payload(messages: list[tuple[str, str]]) -> CloudCodeError:
    """Proto-JSON parse failures: one `Invalid JSON payload received. …` line per (field path, detail)."""
    lines = [f"Invalid JSON payload received. {detail}" for _, detail in messages]
    violations = [
        {"field": path, "description": line} for (path, _), line in zip(messages, lines, strict=True)
    ]
    return envelope(400, "\n".join(lines), [{"@type": BAD_REQUEST_TYPE, "fieldViolations": violations}])


def unknown_field(name: str, path: str) -> tuple[str, str]:
    """Google omits the `at '…'` clause for a top-level field."""
    where = f" at '{path}'" if path else ""
    return path, f"Unknown name {json.dumps(name)}{where}: Cannot find field."


def invalid_argument(message: str, field: str | None = None) -> CloudCodeError:
    details = None
    if field is not None:
        violation = {"field": field, "description": message}
        details = [{"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]}]
    return envelope(400, message, details)


def anthropic_invalid_request(message: str) -> CloudCodeError:
    """Claude's own 400, wrapped as a JSON *string* inside the Google envelope (CPA#517)."""
    inner = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
        "request_id": f"req_vrtx_{secrets.token_urlsafe(18)}",
    }
    return envelope(400, json.dumps(inner, separators=(",", ":")))


# --- 401 / 403 / 404 ------------------------------------------------------------------------------


def unauthenticated(reason: str, method: str) -> CloudCodeError:
    message = MISSING_CREDENTIALS_MESSAGE if reason == "CREDENTIALS_MISSING" else INVALID_CREDENTIALS_MESSAGE
    metadata = {"service": COMPANION_SERVICE, "method": f"google.internal.cloud.code.v1internal.{method}"}
    return envelope(401, message, [error_info(reason, metadata, domain="googleapis.com")])


def consumer_invalid(project: str) -> CloudCodeError:
    """The bad-project 403 that invented project ids drew (A2A#19, AGM#197)."""
    metadata = {"consumer": f"projects/{project}", "service": COMPANION_SERVICE}
    details = [
        error_info("CONSUMER_INVALID", metadata, domain="googleapis.com"),
        {
            "@type": HELP_TYPE,
            "links": [
                {"description": "Google developers console", "url": "https://console.developers.google.com"}
            ],
        },
    ]
    return envelope(403, f"Permission denied on resource project {project}.", details)


def service_disabled(project: str) -> CloudCodeError:
    """A project that is not the account's own (§12.6): the API "has not been used in project …"."""
    activation_url = (
        f"https://console.developers.google.com/apis/api/{CLOUDCODE_DOMAIN}/overview?project={project}"
    )
    message = (
        f"{CLOUDCODE_SERVICE_TITLE} has not been used in project {project} before or it is disabled. Enable "
        f"it by visiting {activation_url} then retry. If you enabled this API recently, wait a few minutes "
        "for the action to propagate to our systems and retry."
    )
    metadata = {
        "consumer": f"projects/{project}",
        "service": CLOUDCODE_DOMAIN,
        "serviceTitle": CLOUDCODE_SERVICE_TITLE,
        "containerInfo": project,
        "activationUrl": activation_url,
    }
    details = [
        error_info("SERVICE_DISABLED", metadata, domain="googleapis.com"),
        {"@type": LOCALIZED_MESSAGE_TYPE, "locale": "en-US", "message": message},
    ]
    return envelope(403, message, details)


def validation_required(params: dict[str, Any]) -> CloudCodeError:
    """403 VALIDATION_REQUIRED as 2026 sends it (§12.6): the verification link in ErrorInfo metadata."""
    message = str(params.get("message", VALIDATION_MESSAGE))
    metadata = {
        "validation_error_message": message,
        "validation_url_link_text": VALIDATION_LINK_TEXT,
        "validation_url": str(params.get("validation_url", DEFAULT_VALIDATION_URL)),
    }
    return envelope(403, message, [error_info("VALIDATION_REQUIRED", metadata)])


def tos_violation(reason: str, params: dict[str, Any]) -> CloudCodeError:
    """403 for an account banned for Terms of Service (§12.6), with the appeal link."""
    metadata = {
        "appeal_url": str(params.get("appeal_url", DEFAULT_APPEAL_URL)),
        "appeal_url_link_text": APPEAL_LINK_TEXT,
    }
    return envelope(403, str(params.get("message", TOS_MESSAGE)), [error_info(reason, metadata)])


def forbidden(reason: str, *, project: str, params: dict[str, Any]) -> CloudCodeError:
    """The scripted 403 variants: verification, service disabled, ToS ban, missing licence, IAM denial."""
    if reason == "VALIDATION_REQUIRED":
        return validation_required(params)
    if reason == "SERVICE_DISABLED":
        return service_disabled(str(params.get("project", project)) or "emulated-project")
    if reason in TOS_REASONS:
        return tos_violation(reason, params)
    if reason == "CONSUMER_INVALID":
        return consumer_invalid(project)
    if reason == "SUBSCRIPTION_REQUIRED":
        message = SUBSCRIPTION_MESSAGE
    else:
        message = (
            "Permission 'cloudaicompanion.companions.generateChat' denied on resource "
            f"'//cloudaicompanion.googleapis.com/projects/{project}/locations/global' (or it may not exist)."
        )
    message = str(params.get("message", message))
    return envelope(403, message, [error_info(reason, {})])


def model_not_found() -> CloudCodeError:
    return envelope(404, NOT_FOUND_MESSAGE)


# --- 429 / 5xx ------------------------------------------------------------------------------------


def quota_exhausted(model: str, reset_delay_s: float, now: datetime | None = None) -> CloudCodeError:
    """429 QUOTA_EXHAUSTED with quotaResetDelay/quotaResetTimeStamp and RetryInfo (§7)."""
    now = now or datetime.now(UTC)
    metadata = {
        "uiMessage": "true",
        "model": model,
        "quotaResetDelay": go_duration(reset_delay_s),
        "quotaResetTimeStamp": rfc3339(now + timedelta(seconds=reset_delay_s)),
    }
    message = (
        "You have exhausted your capacity on this model. "
        f"Your quota will reset after {go_duration(reset_delay_s)}."
    )
    return envelope(429, message, [error_info("QUOTA_EXHAUSTED", metadata), retry_info(reset_delay_s)])


def rate_limited(model: str, retry_delay_s: float) -> CloudCodeError:
    """429 RATE_LIMIT_EXCEEDED: a short per-model limit, the delay in RetryInfo."""
    message = (
        "You have exhausted your capacity on this model. "
        f"Your quota will reset after {go_duration(retry_delay_s)}."
    )
    metadata = {"uiMessage": "true", "model": model}
    return envelope(429, message, [error_info("RATE_LIMIT_EXCEEDED", metadata), retry_info(retry_delay_s)])


def bare_429() -> CloudCodeError:
    return envelope(429, BARE_429_MESSAGE)


def capacity_exhausted(model: str, retry_delay_s: float | None) -> CloudCodeError:
    details = [error_info("MODEL_CAPACITY_EXHAUSTED", {"model": model})]
    if retry_delay_s is not None:
        details.append(retry_info(retry_delay_s))
    return envelope(503, f"No capacity available for model {model} on the server", details)


def server_error() -> CloudCodeError:
    return envelope(500, SERVER_ERROR_MESSAGE)
