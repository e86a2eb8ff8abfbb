using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using WireMock;
using WireMock.Types;
using WireMock.Util;

namespace IamFulfillment.Sandbox.Jira;

public sealed class JiraSandboxOptions
{
    /// <summary>The integration account: a service desk agent that authenticates with <see cref="IntegrationEmail"/> and <see cref="IntegrationApiToken"/>.</summary>
    public string IntegrationAccountId { get; init; } = "5f1e2d3c4b5a69788796a5b4";

    public string IntegrationEmail { get; init; } = "iam-bot@example.com";

    public string IntegrationApiToken { get; init; } = "sandbox-api-token";

    public string IntegrationDisplayName { get; init; } = "IAM Fulfillment";

    /// <summary>The secret the admin webhook is registered with; <see cref="JiraSandbox.BuildWebhook"/> signs with it.</summary>
    public string WebhookSecret { get; init; } = "sandbox-jira-webhook-secret";

    /// <summary>The field that holds the JSM request type on the issue (Customer Request Type).</summary>
    public string RequestTypeFieldId { get; init; } = "customfield_10010";

    /// <summary>The sandbox clock (created, updated, comment and approval times, rate-limit resets).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Offset of date-times in answers: Jira renders them in the calling user's time zone.</summary>
    public TimeSpan DisplayOffset { get; init; } = TimeSpan.Zero;

    public int FaultSeed { get; init; } = 1;

    /// <summary>
    /// The most issues one page of the enhanced search holds, whatever <c>maxResults</c> asks for: Jira's ceiling is
    /// 5000 and it may answer with fewer; set it low to make a client follow pages.
    /// </summary>
    public int SearchMaxResults { get; init; } = 5000;

    /// <summary>Seeds a JSM service-request workflow (Waiting for support, Waiting for customer, Resolved, Declined, …).</summary>
    public bool DefaultWorkflow { get; init; } = true;
}

/// <summary>
/// A loopback Jira Service Management Cloud that answers like the JSM (<c>/rest/servicedeskapi</c>) and platform
/// (<c>/rest/api/3</c>) REST APIs and keeps state: a WireMock.Net server whose one callback serves service desks,
/// request types, users (with hidden e-mail addresses), requests with custom fields, approvals, public and internal
/// comments, a workflow with named transitions and the changelog. A small middleware in front adds fixed latency,
/// injects faults (429 with Retry-After and ISO X-RateLimit-Reset, 500, 503, connection resets) and logs every call.
/// </summary>
public sealed partial class JiraSandbox : TicketSystemSandbox
{
    private readonly Lock _gate = new();

    public JiraSandbox(JiraSandboxOptions? options = null)
        : base((options ??= new JiraSandboxOptions()).Time, new SandboxFaults(options.FaultSeed) { RandomFaultPathPrefix = "/rest/" })
    {
        Options = options;
        IntegrationUser = AddUser(Options.IntegrationDisplayName, Options.IntegrationEmail, accountId: Options.IntegrationAccountId, isAgent: true, apiToken: Options.IntegrationApiToken);
        SeedSystemFields();
        if (Options.DefaultWorkflow)
        {
            SeedDefaultWorkflow();
        }

        Start(null, HandleAsync);
    }

    /// <summary>
    /// What the body of a JSM comment POST holds for an internal note, and for a customer-visible comment: both go to
    /// the same path, so a test holds one of them with <c>Holds.Add(…, bodyContains: InternalNoteBody)</c>.
    /// </summary>
    public const string InternalNoteBody = "\"public\":false";

    /// <inheritdoc cref="InternalNoteBody"/>
    public const string CustomerCommentBody = "\"public\":true";

    public JiraSandboxOptions Options { get; }

    public JiraUser IntegrationUser { get; }

    /// <summary>
    /// Calls per "METHOD path-pattern" (issue keys and ids replaced by {key}/{id}; the query left out, so every page of
    /// a search counts as GET /rest/api/3/search/jql), for the benchmark's round-trip count.
    /// </summary>
    public IReadOnlyDictionary<string, int> CallsByEndpoint() =>
        FrontDoor.Calls.GroupBy(c => $"{c.Method} {EndpointPattern(c.Path)}", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    private Task<IResponseMessage> HandleAsync(IRequestMessage request)
    {
        IResponseMessage response;
        try
        {
            response = Header(request, SandboxFrontDoor.FaultHeader) is { } fault ? FaultResponse(fault) : Route(request);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            response = PlatformError(400, ex.Message);
        }

        return Task.FromResult(response);
    }

    private ResponseMessage FaultResponse(string fault)
    {
        var (kind, retryAfter) = SandboxFrontDoor.ParseFault(fault);
        switch (kind)
        {
            case SandboxFaultKind.RateLimited or SandboxFaultKind.RateLimitedResetOnly:
                {
                    var response = Json(429, """{"errorMessages":["Rate limit exceeded."],"errors":{}}""");
                    if (kind == SandboxFaultKind.RateLimited)
                    {
                        response.AddHeader("Retry-After", retryAfter.ToString(CultureInfo.InvariantCulture));
                    }

                    // The reset is given to the minute: round up, so it is never earlier than Retry-After.
                    var reset = Time.GetUtcNow().AddSeconds(retryAfter).ToUniversalTime();
                    var minute = new DateTimeOffset(reset.Year, reset.Month, reset.Day, reset.Hour, reset.Minute, 0, TimeSpan.Zero);
                    if (minute < reset)
                    {
                        minute = minute.AddMinutes(1);
                    }

                    response.AddHeader("X-RateLimit-Reset", minute.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture));
                    response.AddHeader("X-RateLimit-Limit", "100");
                    response.AddHeader("X-RateLimit-Remaining", "0");
                    response.AddHeader("RateLimit-Reason", "jira-quota-based");
                    return response;
                }

            case SandboxFaultKind.Unavailable:
                {
                    var response = Json(503, """{"errorMessages":["Service Unavailable"],"errors":{}}""");
                    response.AddHeader("Retry-After", retryAfter.ToString(CultureInfo.InvariantCulture));
                    return response;
                }

            default:
                return Json(500, """{"errorMessages":["Internal server error"],"errors":{}}""");
        }
    }

    private static string EndpointPattern(string path) => IssueSegment().Replace(path, "/{key}");

    private static string? Header(IRequestMessage request, string name)
    {
        if (request.Headers is null)
        {
            return null;
        }

        foreach (var (key, values) in request.Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return string.Join(",", values);
            }
        }

        return null;
    }

    private static ResponseMessage Json(int status, JsonNode body) => Json(status, body.ToJsonString());

    private static ResponseMessage Json(int status, string body)
    {
        var response = new ResponseMessage
        {
            StatusCode = status,
            BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String, Encoding = new UTF8Encoding(false) },
        };
        response.AddHeader("Content-Type", "application/json;charset=UTF-8");
        response.AddHeader("X-AREQUESTID", RequestId());
        return response;
    }

    private static ResponseMessage Empty(int status)
    {
        var response = new ResponseMessage { StatusCode = status };
        response.AddHeader("X-AREQUESTID", RequestId());
        return response;
    }

    /// <summary>The platform API's error shape: <c>{"errorMessages":[...],"errors":{...}}</c>.</summary>
    private static ResponseMessage PlatformError(int status, string? message, IReadOnlyDictionary<string, string>? errors = null)
    {
        var fieldErrors = new JsonObject();
        foreach (var (field, text) in errors ?? new Dictionary<string, string>())
        {
            fieldErrors[field] = text;
        }

        return Json(status, new JsonObject
        {
            ["errorMessages"] = message is null ? new JsonArray() : new JsonArray(message),
            ["errors"] = fieldErrors,
        });
    }

    /// <summary>The JSM API's error shape: <c>{"errorMessage":..., "i18nErrorMessage":{"i18nKey":..., "parameters":[]}}</c>.</summary>
    private static ResponseMessage ServiceDeskError(int status, string message, string i18nKey) =>
        Json(status, new JsonObject
        {
            ["errorMessage"] = message,
            ["i18nErrorMessage"] = new JsonObject { ["i18nKey"] = i18nKey, ["parameters"] = new JsonArray() },
        });

    private static string RequestId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    [System.Text.RegularExpressions.GeneratedRegex(@"/([A-Z][A-Z0-9_]+-\d+|\d{4,})(?=/|$)", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex IssueSegment();
}
