using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
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
public sealed partial class JiraSandbox : IDisposable
{
    private readonly WireMockServer _server;
    private readonly Lock _gate = new();
    private TimeProvider _time;

    public JiraSandbox(JiraSandboxOptions? options = null)
    {
        ServiceNow.WireMockStartup.SkipPluginScan();
        Options = options ?? new JiraSandboxOptions();
        _time = Options.Time;
        FrontDoor = new SandboxFrontDoor(new SandboxFaults(Options.FaultSeed) { RandomFaultPathPrefix = "/rest/" }, () => _time);
        IntegrationUser = AddUser(Options.IntegrationDisplayName, Options.IntegrationEmail, accountId: Options.IntegrationAccountId, isAgent: true, apiToken: Options.IntegrationApiToken);
        SeedSystemFields();
        if (Options.DefaultWorkflow)
        {
            SeedDefaultWorkflow();
        }

        ServiceNow.WireMockStartup.SkipPluginScan();
        var port = FreePort();
        var settings = new WireMockServerSettings
        {
            Urls = [$"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"],
            StartAdminInterface = false,
            MaxRequestLogCount = 0,
            DisableJsonBodyParsing = true,
            DisableDeserializeFormUrlEncoded = true,
            PreWireMockMiddlewareInit = app => ((IApplicationBuilder)app).Use(FrontDoor.InvokeAsync),
        };
        _server = WireMockServer.Start(settings);
        _server.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithCallback(HandleAsync));
        Url = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    public JiraSandboxOptions Options { get; }

    /// <summary>The site's base address, e.g. http://127.0.0.1:51234 (use it as Jira:BaseUrl).</summary>
    public string Url { get; }

    /// <summary>Latency, faults, holds and the call log in front of the site.</summary>
    public SandboxFrontDoor FrontDoor { get; }

    public SandboxFaults Faults => FrontDoor.Faults;

    /// <summary>Requests a test holds at the front door (e.g. a write-back comment while the service is killed).</summary>
    public RequestHolds Holds => FrontDoor.Holds;

    public JiraUser IntegrationUser { get; }

    /// <summary>The sandbox clock; replace it (e.g. with a fake) to control every time it writes.</summary>
    public TimeProvider Time
    {
        get => _time;
        set => _time = value;
    }

    /// <summary>Fixed latency added to every call, as a real site's round trip would.</summary>
    public TimeSpan Latency
    {
        get => FrontDoor.Latency;
        set => FrontDoor.Latency = value;
    }

    /// <summary>Every call so far, oldest first.</summary>
    public IReadOnlyList<SandboxCall> Calls => FrontDoor.Calls;

    /// <summary>The most calls in progress at once (shows whether a client makes independent calls in parallel).</summary>
    public int PeakConcurrency => FrontDoor.PeakConcurrency;

    /// <summary>Calls with this method whose path contains <paramref name="pathContains"/> (case-insensitive); faulted calls count too.</summary>
    public int CallCount(string method, string? pathContains = null) => FrontDoor.CallCount(method, pathContains);

    /// <summary>Calls per "METHOD path-pattern" (issue keys and ids replaced by {key}/{id}), for the benchmark's round-trip count.</summary>
    public IReadOnlyDictionary<string, int> CallsByEndpoint() =>
        FrontDoor.Calls.GroupBy(c => $"{c.Method} {EndpointPattern(c.Path)}", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>Raised for every call as it is logged (after the latency and the handling), on the server's thread: keep handlers short.</summary>
    public event Action<SandboxCall>? CallLogged
    {
        add => FrontDoor.CallLogged += value;
        remove => FrontDoor.CallLogged -= value;
    }

    public void ResetCalls() => FrontDoor.ResetCalls();

    public void Dispose()
    {
        Holds.DropAll();
        _server.Dispose();
    }

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
                    var reset = _time.GetUtcNow().AddSeconds(retryAfter).ToUniversalTime();
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

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
