using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;

namespace IamFulfillment.Sandbox.Graph;

public sealed class GraphSandboxOptions
{
    /// <summary>Largest page of <c>memberOf</c>/<c>transitiveMemberOf</c>/<c>members</c>; small so clients must follow nextLink.</summary>
    public int PageSize { get; set; } = 5;

    /// <summary>Seed for the fault injector, batch response order and generated passes.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Answer batch items in a shuffled order, as Graph may.</summary>
    public bool ShuffleBatchResponses { get; set; } = true;

    public TimeProvider Time { get; set; } = TimeProvider.System;
}

/// <summary>
/// A loopback stand-in for Microsoft Graph v1.0 (Entra ID users, groups, directory roles, authentication methods,
/// Temporary Access Passes, sendMail and JSON batching) that keeps state, answers with Graph's status codes and
/// error envelope, and records every request. Seed it through the C# API, point a client at <see cref="BaseUrl"/>,
/// and read the resulting state back.
/// </summary>
public sealed partial class GraphSandbox : IDisposable
{
    private const int MaxBatchSize = 20;
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    private readonly WireMockServer _server;
    private readonly GraphSandboxOptions _options;
    private readonly TimeProvider _time;
    private readonly AsyncLocal<SandboxFault?> _callFault = new();
    private readonly AsyncLocal<DateTimeOffset?> _callReceived = new();
    private readonly Lock _gate = new();

    private readonly Dictionary<string, SandboxUser> _users = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<SandboxAuthMethod>> _methods = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SandboxGroup> _groups = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SandboxRole> _roles = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, SandboxAdministrativeUnit> _units = new(StringComparer.OrdinalIgnoreCase);

    // Members of groups, directory roles and administrative units, in the order they were added.
    private readonly Dictionary<string, MemberList> _members = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _containerOrder = [];
    private readonly List<SandboxTap> _taps = [];
    private readonly List<SandboxMail> _outbox = [];
    private readonly List<SandboxRequest> _httpCalls = [];
    private readonly List<SandboxRequest> _requests = [];
#pragma warning disable CA5394 // response shuffling in a test server, not security
    private readonly Random _shuffle;
#pragma warning restore CA5394

    private int _membershipsAdded;
    private int _membershipsRemoved;
    private int _accountsDisabled;
    private int _accountsEnabled;
    private int _sessionRevocations;
    private int _tapsIssued;
    private int _methodsRemoved;
    private int _mailsSent;

    private GraphSandbox(GraphSandboxOptions options)
    {
        _options = options;
        _time = options.Time;
        Faults = new GraphSandboxFaults(options.Seed);
        _shuffle = new Random(options.Seed);
        _server = WireMockServer.Start(new WireMockServerSettings
        {
            Urls = ["http://127.0.0.1:0"],
            DisableJsonBodyParsing = true,
            MaxRequestLogCount = 1,
            DoNotSaveDynamicResponseInLogEntry = true,
            PreWireMockMiddlewareInit = app => ((IApplicationBuilder)app).Use(ConnectionFaultsAsync),
        });
        _server.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithCallback(OnRequestAsync));
        BaseUrl = _server.Url + "/v1.0";
    }

    /// <summary>Starts a sandbox on a free loopback port.</summary>
    public static GraphSandbox Start(GraphSandboxOptions? options = null)
    {
        ServiceNow.WireMockStartup.SkipPluginScan();
        return new(options ?? new GraphSandboxOptions());
    }

    /// <summary>The Graph base URL to configure (<c>http://127.0.0.1:PORT/v1.0</c>).</summary>
    public string BaseUrl { get; }

    public GraphSandboxFaults Faults { get; }

    /// <summary>Requests a test holds at the front door (e.g. a member add while the service is killed).</summary>
    public RequestHolds Holds { get; } = new();

    /// <summary>Fixed latency added to every HTTP call (a <c>$batch</c> counts once).</summary>
    public TimeSpan Latency { get; set; }

    public void Dispose()
    {
        Holds.DropAll();
        _server.Stop();
    }

    // ---------------------------------------------------------------- seeding

    /// <summary>Adds a user (with a password method, as every cloud user has) and returns a copy of what is stored.</summary>
    public SandboxUser AddUser(SandboxUser user)
    {
        lock (_gate)
        {
            if (_users.ContainsKey(user.Id) || _users.Values.Any(u => string.Equals(u.UserPrincipalName, user.UserPrincipalName, StringComparison.OrdinalIgnoreCase)))
            {
                throw new InvalidOperationException($"A user with id {user.Id} or that userPrincipalName exists already.");
            }

            _users[user.Id] = user.Clone();
            _methods[user.Id] = [new SandboxAuthMethod(SandboxMethodTypes.PasswordMethodId, SandboxMethodTypes.Password, "Password")];
            return user.Clone();
        }
    }

    public SandboxGroup AddGroup(SandboxGroup group)
    {
        lock (_gate)
        {
            EnsureNewId(group.Id);
            _groups[group.Id] = group.Clone();
            AddContainer(group.Id);
            return group.Clone();
        }
    }

    public SandboxRole AddDirectoryRole(string displayName, string? roleTemplateId = null)
    {
        var role = new SandboxRole(Guid.NewGuid().ToString(), displayName, roleTemplateId ?? Guid.NewGuid().ToString());
        lock (_gate)
        {
            _roles[role.Id] = role;
            AddContainer(role.Id);
        }

        return role;
    }

    public SandboxAdministrativeUnit AddAdministrativeUnit(string displayName)
    {
        var unit = new SandboxAdministrativeUnit(Guid.NewGuid().ToString(), displayName);
        lock (_gate)
        {
            _units[unit.Id] = unit;
            AddContainer(unit.Id);
        }

        return unit;
    }

    /// <summary>Makes a user or group a direct member of a group, directory role (an assignment) or administrative unit.</summary>
    public void AddMember(string containerId, string memberId)
    {
        lock (_gate)
        {
            if (!_members.TryGetValue(containerId, out var members))
            {
                throw new InvalidOperationException($"No group, role or administrative unit {containerId}.");
            }

            if (!_users.ContainsKey(memberId) && !_groups.ContainsKey(memberId))
            {
                throw new InvalidOperationException($"No user or group {memberId}.");
            }

            members.Add(memberId);
        }
    }

    public void SetManager(string userId, string? managerId)
    {
        lock (_gate)
        {
            var user = _users.GetValueOrDefault(userId) ?? throw new InvalidOperationException($"No user {userId}.");
            if (managerId is not null && !_users.ContainsKey(managerId))
            {
                throw new InvalidOperationException($"No user {managerId}.");
            }

            user.ManagerId = managerId;
        }
    }

    /// <summary>Registers an authentication method (<see cref="SandboxMethodTypes"/>) for a user.</summary>
    public SandboxAuthMethod AddAuthenticationMethod(string userId, string type, string? displayName = null)
    {
        var method = new SandboxAuthMethod(Guid.NewGuid().ToString(), type, displayName);
        lock (_gate)
        {
            var methods = _methods.GetValueOrDefault(userId) ?? throw new InvalidOperationException($"No user {userId}.");
            methods.Add(method);
        }

        return method;
    }

    /// <summary>Changes a user in place (e.g. to simulate an HR update between two runs).</summary>
    public void UpdateUser(string userId, Action<SandboxUser> change)
    {
        lock (_gate)
        {
            change(_users.GetValueOrDefault(userId) ?? throw new InvalidOperationException($"No user {userId}."));
        }
    }

    /// <summary>Changes a group in place (made role-assignable, synchronised from on-premises, …).</summary>
    public void UpdateGroup(string groupId, Action<SandboxGroup> change)
    {
        lock (_gate)
        {
            change(_groups.GetValueOrDefault(groupId) ?? throw new InvalidOperationException($"No group {groupId}."));
        }
    }

    // ---------------------------------------------------------------- reading state back

    public SandboxUser? User(string idOrUserPrincipalName)
    {
        lock (_gate)
        {
            return FindUser(idOrUserPrincipalName)?.Clone();
        }
    }

    public SandboxGroup? Group(string id)
    {
        lock (_gate)
        {
            return _groups.GetValueOrDefault(id)?.Clone();
        }
    }

    public bool IsMember(string containerId, string memberId)
    {
        lock (_gate)
        {
            return _members.TryGetValue(containerId, out var members) && members.Contains(memberId);
        }
    }

    public IReadOnlyList<string> MembersOf(string containerId)
    {
        lock (_gate)
        {
            return _members.TryGetValue(containerId, out var members) ? [.. members] : [];
        }
    }

    public IReadOnlyList<SandboxAuthMethod> AuthenticationMethods(string userId)
    {
        lock (_gate)
        {
            return _methods.TryGetValue(userId, out var methods) ? [.. methods] : [];
        }
    }

    public IReadOnlyList<SandboxTap> TapsIssued(string userId)
    {
        lock (_gate)
        {
            return [.. _taps.Where(t => string.Equals(t.UserId, userId, StringComparison.OrdinalIgnoreCase))];
        }
    }

    public IReadOnlyList<SandboxMail> Outbox
    {
        get
        {
            lock (_gate)
            {
                return [.. _outbox];
            }
        }
    }

    public SandboxChanges Changes
    {
        get
        {
            lock (_gate)
            {
                return new SandboxChanges(_membershipsAdded, _membershipsRemoved, _accountsDisabled, _accountsEnabled, _sessionRevocations, _tapsIssued, _methodsRemoved, _mailsSent);
            }
        }
    }

    /// <summary>Every HTTP call that reached the server (a <c>$batch</c> is one call, with its <see cref="SandboxRequest.BatchSize"/>).</summary>
    public IReadOnlyList<SandboxRequest> HttpCalls
    {
        get
        {
            lock (_gate)
            {
                return [.. _httpCalls];
            }
        }
    }

    /// <summary>Every Graph request handled: plain calls and the requests inside batches (not the <c>$batch</c> envelopes).</summary>
    public IReadOnlyList<SandboxRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Raised for every HTTP call (a <c>$batch</c> once) as it is logged, on the server's thread: keep handlers short.</summary>
    public event Action<SandboxRequest>? HttpCallLogged;

    /// <summary>Forgets the request logs (not the directory state or change counters).</summary>
    public void ClearLog()
    {
        lock (_gate)
        {
            _httpCalls.Clear();
            _requests.Clear();
        }
    }

    // ---------------------------------------------------------------- HTTP plumbing

    /// <summary>Runs before WireMock: adds latency, and drops connections the fault injector picked.</summary>
    private async Task ConnectionFaultsAsync(HttpContext context, Func<Task> next)
    {
        _callReceived.Value = _time.GetUtcNow();
        var latency = Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, context.RequestAborted); // real time, even when the sandbox's clock is a fake one
        }

        var path = context.Request.Path.Value ?? "";
        var scope = path.EndsWith("/$batch", StringComparison.Ordinal) ? SandboxFaultScope.BatchCall : SandboxFaultScope.DirectCall;
        var fault = Faults.Pick(scope, context.Request.Method, path);
        if (fault?.Kind is SandboxFaultKind.ResetBeforeHandling or SandboxFaultKind.Timeout)
        {
            if (fault.Kind == SandboxFaultKind.Timeout)
            {
                try
                {
                    await Task.Delay(Faults.TimeoutStall, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client timed out first.
                }
            }

            Record(_httpCalls, new SandboxRequest(_time.GetUtcNow(), context.Request.Method, path, context.Request.QueryString.Value ?? "", 0, false, null, FaultName(fault.Kind)));
            context.Abort();
            return;
        }

        _callFault.Value = fault;
        if (fault?.Kind == SandboxFaultKind.ResetAfterHandling)
        {
            // Let the request be applied, but throw the answer away and drop the connection.
            context.Response.Body = new MemoryStream();
            await next();
            context.Abort();
            return;
        }

        if (!await RequestHolds.RunAsync(await MatchHoldAsync(context.Request, path), context, next))
        {
            Record(_httpCalls, new SandboxRequest(_time.GetUtcNow(), context.Request.Method, path, context.Request.QueryString.Value ?? "", 0, false, null, "dropped"));
            context.Abort();
        }
    }

    /// <summary>
    /// The hold a call falls under. A <c>$batch</c> call is held as a whole when one of its requests matches a hold:
    /// the service gathers concurrent requests into batches, and a test holding a member add must catch it however
    /// it travels.
    /// </summary>
    private async Task<RequestHold?> MatchHoldAsync(HttpRequest request, string path)
    {
        var isBatch = path.EndsWith("/$batch", StringComparison.Ordinal);
        var body = Holds.MatchesBodies || (isBatch && Holds.Any) ? await RequestHolds.ReadBodyAsync(request) : null;
        if (Holds.Match(request.Method, path, body) is { } direct)
        {
            return direct;
        }

        if (!isBatch || body is null)
        {
            return null;
        }

        try
        {
            foreach (var item in JsonNode.Parse(body)?["requests"] as JsonArray ?? [])
            {
                if (item?["method"]?.GetValue<string>() is { } method && item["url"]?.GetValue<string>() is { } url
                    && Holds.Match(method, "/v1.0/" + url.TrimStart('/')) is { } hold)
                {
                    return hold;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not a well-formed batch: the batch handler answers 400.
        }

        return null;
    }

    private Task<IResponseMessage> OnRequestAsync(IRequestMessage message)
    {
        var fault = _callFault.Value;
        var path = message.Path;
        var query = message.RawQuery ?? "";
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in message.Headers ?? new Dictionary<string, WireMockList<string>>())
        {
            headers[name] = string.Join(",", values);
        }

        var context = new CallContext(Guid.NewGuid().ToString(), headers.GetValueOrDefault("client-request-id"), _time.GetUtcNow(), InBatch: false);
        Reply reply;
        int? batchSize = null;
        if (fault is { Kind: SandboxFaultKind.Throttle or SandboxFaultKind.ServerError or SandboxFaultKind.Unavailable })
        {
            reply = FaultReply(fault, context);
        }
        else if (!path.StartsWith("/v1.0/", StringComparison.Ordinal))
        {
            reply = Error(context, 400, "BadRequest", $"Invalid version: the sandbox serves /v1.0 only.");
        }
        else
        {
            var relative = path["/v1.0".Length..];
            if (relative == "/$batch" && message.Method == "POST")
            {
                (reply, batchSize) = HandleBatch(message.Body, context);
            }
            else
            {
                reply = Handle(new Call(message.Method, relative, query, headers, message.Body), context);
            }
        }

        var faultName = fault is null ? null : FaultName(fault.Kind);
        Record(_httpCalls, new SandboxRequest(context.Now, message.Method, path, query, reply.Status, false, batchSize, faultName) { ReceivedAt = _callReceived.Value ?? context.Now });
        if (batchSize is null)
        {
            Record(_requests, new SandboxRequest(context.Now, message.Method, path, query, reply.Status, false, null, faultName));
        }

        return Task.FromResult<IResponseMessage>(ToWireMock(reply, context));
    }

    private static string FaultName(SandboxFaultKind kind) => kind switch
    {
        SandboxFaultKind.Throttle => "429",
        SandboxFaultKind.ServerError => "500",
        SandboxFaultKind.Unavailable => "503",
        SandboxFaultKind.ResetBeforeHandling => "reset-before",
        SandboxFaultKind.Timeout => "timeout",
        _ => "reset-after",
    };

    private void Record(List<SandboxRequest> log, SandboxRequest entry)
    {
        lock (_gate)
        {
            log.Add(entry);
        }

        if (ReferenceEquals(log, _httpCalls))
        {
            HttpCallLogged?.Invoke(entry);
        }
    }

    private static ResponseMessage ToWireMock(Reply reply, CallContext context)
    {
        var response = new ResponseMessage { StatusCode = reply.Status };
        response.AddHeader("request-id", context.RequestId);
        if (context.ClientRequestId is { } clientRequestId)
        {
            response.AddHeader("client-request-id", clientRequestId);
        }

        foreach (var (name, value) in reply.Headers)
        {
            response.AddHeader(name, value);
        }

        if (reply.Body is not null)
        {
            response.AddHeader("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8");
            response.BodyData = new BodyData { BodyAsString = reply.Body.ToJsonString(Compact), DetectedBodyType = BodyType.String };
        }

        return response;
    }

    // ---------------------------------------------------------------- $batch

    private (Reply Reply, int? BatchSize) HandleBatch(string? body, CallContext context)
    {
        JsonArray? requests;
        try
        {
            requests = JsonNode.Parse(body ?? "")?["requests"] as JsonArray;
        }
        catch (JsonException)
        {
            requests = null;
        }

        if (requests is null)
        {
            return (Error(context, 400, "BadRequest", "Invalid batch payload format."), null);
        }

        if (requests.Count > MaxBatchSize)
        {
            return (Error(context, 400, "BadRequest", $"Number of batch requests exceeds the maximum of {MaxBatchSize}."), requests.Count);
        }

        var items = new List<(string Id, Call Call, string[] DependsOn)>();
        foreach (var node in requests)
        {
            var id = node?["id"]?.GetValue<string>();
            var method = node?["method"]?.GetValue<string>()?.ToUpperInvariant();
            var url = node?["url"]?.GetValue<string>();
            if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(method) || string.IsNullOrEmpty(url))
            {
                return (Error(context, 400, "BadRequest", "Each batch request needs an id, a method and a url."), requests.Count);
            }

            if (items.Any(i => i.Id == id))
            {
                return (Error(context, 400, "BadRequest", $"Batch request id '{id}' is not unique."), requests.Count);
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (node!["headers"] is JsonObject headerObject)
            {
                foreach (var (name, value) in headerObject)
                {
                    headers[name] = value?.ToString() ?? "";
                }
            }

            var itemBody = node["body"];
            if (itemBody is not null && !headers.ContainsKey("Content-Type"))
            {
                return (Error(context, 400, "BadRequest", $"Batch request '{id}' has a body but no Content-Type header."), requests.Count);
            }

            var bodyText = itemBody switch
            {
                null => null,
                JsonValue value when value.TryGetValue<string>(out var text) => text,
                _ => itemBody.ToJsonString(Compact),
            };
            var relative = url.StartsWith('/') ? url : "/" + url;
            var queryAt = relative.IndexOf('?', StringComparison.Ordinal);
            var dependsOn = node["dependsOn"] is JsonArray deps ? deps.Select(d => d?.GetValue<string>() ?? "").ToArray() : [];
            items.Add((id, new Call(method, queryAt < 0 ? relative : relative[..queryAt], queryAt < 0 ? "" : relative[queryAt..], headers, bodyText), dependsOn));
        }

        var responses = new List<JsonObject>();
        var statuses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, call, dependsOn) in items)
        {
            var itemContext = context with { InBatch = true };
            Reply reply;
            string? faultName = null;
            if (Uri.TryCreate(call.Path, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                reply = Error(itemContext, 400, "BadRequest", "Batch request urls must be relative to the version, e.g. /users/{id}.");
            }
            else if (dependsOn.Any(d => !statuses.TryGetValue(d, out var s) || s >= 400))
            {
                reply = Error(itemContext, 424, "FailedDependency", "A request this request depends on failed.");
            }
            else if (Faults.Pick(SandboxFaultScope.BatchItem, call.Method, "/v1.0" + call.Path) is { } fault)
            {
                reply = FaultReply(fault, itemContext);
                faultName = FaultName(fault.Kind);
            }
            else
            {
                reply = Handle(call, itemContext);
            }

            statuses[id] = reply.Status;
            Record(_requests, new SandboxRequest(context.Now, call.Method, "/v1.0" + call.Path, call.Query, reply.Status, true, null, faultName));
            var response = new JsonObject { ["id"] = id, ["status"] = reply.Status };
            var headers = new JsonObject();
            foreach (var (name, value) in reply.Headers)
            {
                headers[name] = value;
            }

            if (reply.Body is not null)
            {
                headers["Content-Type"] = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";
                response["body"] = reply.Body.DeepClone();
            }

            response["headers"] = headers;
            responses.Add(response);
        }

        if (_options.ShuffleBatchResponses)
        {
            lock (_gate)
            {
#pragma warning disable CA5394 // response order in a test server, not security
                _shuffle.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(responses));
#pragma warning restore CA5394
            }
        }

        return (new Reply(200, new JsonObject { ["responses"] = new JsonArray([.. responses]) }), items.Count);
    }

    private Reply FaultReply(SandboxFault fault, CallContext context) => fault.Kind switch
    {
        SandboxFaultKind.Throttle => Error(context, 429, "TooManyRequests", "Too many requests.",
            ("Retry-After", Seconds(fault.RetryAfter))),
        SandboxFaultKind.Unavailable => Error(context, 503, "serviceNotAvailable", "The service is temporarily unavailable.",
            ("Retry-After", Seconds(fault.RetryAfter))),
        _ => Error(context, 500, "generalException", "An internal server error occurred."),
    };

    private static string Seconds(TimeSpan wait) => Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- shared types

    private sealed record Call(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string? Body)
    {
        private Dictionary<string, string>? _parameters;

        /// <summary>Query parameters with names and values percent-decoded (<c>%24filter</c> is <c>$filter</c>).</summary>
        public IReadOnlyDictionary<string, string> Parameters => _parameters ??= ParseQuery(Query);

        public string[] Segments => [.. Path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString)];

        private static Dictionary<string, string> ParseQuery(string query)
        {
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var name = Decode(eq < 0 ? pair : pair[..eq]);
                result[name] = eq < 0 ? "" : Decode(pair[(eq + 1)..]);
            }

            return result;
        }

        private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));
    }

    private sealed record CallContext(string RequestId, string? ClientRequestId, DateTimeOffset Now, bool InBatch);

    private sealed record Reply(int Status, JsonNode? Body = null, params (string Name, string Value)[] Headers);

    private static Reply Error(CallContext context, int status, string code, string message, params (string Name, string Value)[] headers)
    {
        var inner = new JsonObject
        {
            ["date"] = context.Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
            ["request-id"] = context.RequestId,
        };
        if (context.ClientRequestId is { } clientRequestId)
        {
            inner["client-request-id"] = clientRequestId;
        }

        return new Reply(status, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message, ["innerError"] = inner } }, headers);
    }

    private void EnsureNewId(string id)
    {
        if (_members.ContainsKey(id) || _users.ContainsKey(id))
        {
            throw new InvalidOperationException($"An object with id {id} exists already.");
        }
    }

    private void AddContainer(string id)
    {
        _members[id] = new MemberList();
        _containerOrder.Add(id);
    }
}
