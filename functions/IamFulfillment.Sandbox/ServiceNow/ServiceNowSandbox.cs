using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using WireMock;
using WireMock.Types;
using WireMock.Util;

namespace IamFulfillment.Sandbox.ServiceNow;

public sealed class ServiceNowSandboxOptions
{
    /// <summary>The integration user: Basic-auth user name, and the user OAuth tokens act as.</summary>
    public string IntegrationUserName { get; init; } = "iamf.integration";

    public string IntegrationPassword { get; init; } = "sandbox-password";

    /// <summary>OAuth client accepted by <c>/oauth_token.do</c> (client-credentials grant); null disables the endpoint.</summary>
    public string? OAuthClientId { get; init; } = "iamf-sandbox-client";

    public string? OAuthClientSecret { get; init; } = "sandbox-client-secret";

    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromSeconds(1799);

    /// <summary>Base64 HMAC key the business rule signs webhooks with (the system property x_iamf.webhook_secret).</summary>
    public string WebhookSecret { get; init; } = Convert.ToBase64String(Encoding.UTF8.GetBytes("iamf-sandbox-webhook-secret-0001"));

    /// <summary>The sandbox clock (sys_created_on, sys_updated_on, token expiry, rate-limit reset).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public int FaultSeed { get; init; } = 1;

    /// <summary>Fixed port, or null for a free one.</summary>
    public int? Port { get; init; }
}

/// <summary>
/// A loopback ServiceNow that answers like the Table API and keeps state: a WireMock.Net server whose single
/// callback runs <see cref="ServiceNowTables"/>. In front of it, a small middleware adds the configured latency,
/// injects faults (429 with or without Retry-After, 500/503/401, connection resets, lost answers) and logs every
/// call, so tests can assert "exactly one PATCH" and the benchmark can count round trips.
/// </summary>
public sealed partial class ServiceNowSandbox : TicketSystemSandbox
{
    private const string NotFoundBody = """{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}""";

    private readonly ConcurrentDictionary<string, string> _basicUsers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string User, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);

    public ServiceNowSandbox(ServiceNowSandboxOptions? options = null)
        : base((options ??= new ServiceNowSandboxOptions()).Time, new SandboxFaults(options.FaultSeed), LoggedHeaders)
    {
        Options = options;
        Tables = new ServiceNowTables(() => Time.GetUtcNow());
        _basicUsers[Options.IntegrationUserName] = Options.IntegrationPassword;
        IntegrationUserSysId = Tables.Insert("sys_user", new Dictionary<string, string?>
        {
            ["user_name"] = Options.IntegrationUserName, ["name"] = "IAM Fulfillment Integration", ["active"] = "true",
        }, "system");

        Start(Options.Port, request => Task.FromResult(Handle(request)));
    }

    public ServiceNowSandboxOptions Options { get; }

    public ServiceNowTables Tables { get; }

    public string IntegrationUserSysId { get; }

    /// <summary>Lets another user call the API with Basic auth (e.g. a person editing a ticket through REST).</summary>
    public void AddApiUser(string userName, string password) => _basicUsers[userName] = password;

    /// <summary>Forgets issued OAuth tokens, as if they had been revoked.</summary>
    public void RevokeTokens() => _tokens.Clear();

    /// <summary>OAuth access tokens issued so far (tests check they never reach a log).</summary>
    public IReadOnlyCollection<string> IssuedTokens => [.. _tokens.Keys];

    /// <summary>The request headers that matter to the Table API, logged with each call; of Authorization only its scheme.</summary>
    private static IReadOnlyDictionary<string, string> LoggedHeaders(HttpRequest request)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in new[] { "Accept", "Content-Type", "X-no-response-body" })
        {
            if (request.Headers.TryGetValue(name, out var value))
            {
                headers[name] = value.ToString();
            }
        }

        if (request.Headers.Authorization.ToString() is { Length: > 0 } authorization)
        {
            headers["Authorization"] = authorization.Split(' ')[0];
        }

        return headers;
    }

    private IResponseMessage Handle(IRequestMessage request)
    {
        try
        {
            return Route(request);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return Error(400, "Exception while reading request", ex.Message);
        }
    }

    private IResponseMessage Route(IRequestMessage request)
    {
        var method = request.Method.ToUpperInvariant();
        var path = request.AbsolutePath;
        if (Header(request, SandboxFrontDoor.FaultHeader) is { } fault)
        {
            return FaultResponse(fault);
        }

        if (path.Equals("/oauth_token.do", StringComparison.OrdinalIgnoreCase))
        {
            return method == "POST" ? IssueToken(request) : Error(405, "Method not allowed", null);
        }

        var route = TableRoute().Match(path);
        if (!route.Success)
        {
            return Error(400, "Requested URI does not represent any resource", null);
        }

        var user = Authenticate(request);
        if (user is null)
        {
            return Error(401, "User Not Authenticated", "Required to provide Auth information");
        }

        var accept = Header(request, "Accept");
        if (string.IsNullOrWhiteSpace(accept))
        {
            return Error(400, "Accept header is missing", "The Accept header is required (application/json or application/xml)");
        }

        if (!accept.Contains("json", StringComparison.OrdinalIgnoreCase) && !accept.Contains('*', StringComparison.Ordinal))
        {
            return Error(406, "Not Acceptable", "The sandbox answers application/json only");
        }

        if (method is "POST" or "PATCH" or "PUT")
        {
            var contentType = Header(request, "Content-Type");
            if (string.IsNullOrWhiteSpace(contentType))
            {
                return Error(400, "Content-Type header is missing", "The Content-Type header is required for POST, PUT and PATCH");
            }

            if (!contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                return Error(415, "Unsupported Media Type", contentType);
            }
        }

        var version = route.Groups["version"].Success ? route.Groups["version"].Value : "v2";
        var table = route.Groups["table"].Value;
        var sysId = route.Groups["id"].Success ? route.Groups["id"].Value : null;
        if (!Tables.HasTable(table))
        {
            return Error(400, $"Invalid table {table}", null);
        }

        var query = QueryHelpers.ParseQuery(request.RawQuery);
        var fields = Param(query, "sysparm_fields") is { Length: > 0 } f
            ? f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : null;
        var excludeLinks = string.Equals(Param(query, "sysparm_exclude_reference_link"), "true", StringComparison.OrdinalIgnoreCase);
        var noBody = string.Equals(Header(request, "X-no-response-body"), "true", StringComparison.OrdinalIgnoreCase);

        switch (method)
        {
            case "GET" when sysId is null:
                return List(table, query, fields, excludeLinks, version);
            case "GET":
                return Tables.Get(table, sysId) is { } record ? Json(200, Envelope(w => WriteRecord(w, table, record, fields, excludeLinks))) : Json(404, NotFoundBody);
            case "POST" when sysId is null:
                {
                    var created = Tables.Insert(table, ReadBody(request), user, extendSchema: false);
                    return noBody ? Empty(201) : Json(201, Envelope(w => WriteRecord(w, table, Tables.Get(table, created)!, fields, excludeLinks)));
                }

            case "PATCH" or "PUT" when sysId is not null:
                {
                    if (!Tables.Update(table, sysId, ReadBody(request), user))
                    {
                        return Json(404, NotFoundBody);
                    }

                    return noBody ? Empty(204) : Json(200, Envelope(w => WriteRecord(w, table, Tables.Get(table, sysId)!, fields, excludeLinks)));
                }

            case "DELETE" when sysId is not null:
                return Tables.Delete(table, sysId) ? Empty(204) : Json(404, NotFoundBody);
            default:
                return Error(405, "Method not Supported", $"{method} is not supported on this resource");
        }
    }

    private IResponseMessage List(string table, Dictionary<string, Microsoft.Extensions.Primitives.StringValues> query, string[]? fields, bool excludeLinks, string version)
    {
        var rows = Tables.Query(table, Param(query, "sysparm_query"));
        var limit = int.TryParse(Param(query, "sysparm_limit"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) && l > 0 ? l : 10000;
        var offset = int.TryParse(Param(query, "sysparm_offset"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var o) && o > 0 ? o : 0;
        var page = rows.Skip(offset).Take(limit).ToList();
        if (version == "v1" && page.Count == 0)
        {
            return Json(404, NotFoundBody);
        }

        var body = Envelope(w =>
        {
            w.WriteStartArray();
            foreach (var row in page)
            {
                WriteRecord(w, table, row, fields, excludeLinks);
            }

            w.WriteEndArray();
        });
        var response = Json(200, body);
        response.AddHeader("X-Total-Count", rows.Count.ToString(CultureInfo.InvariantCulture));
        if (offset + page.Count < rows.Count)
        {
            response.AddHeader("Link", $"<{Url}/api/now/table/{table}?sysparm_offset={(offset + limit).ToString(CultureInfo.InvariantCulture)}&sysparm_limit={limit.ToString(CultureInfo.InvariantCulture)}>;rel=\"next\"");
        }

        return response;
    }

    private void WriteRecord(Utf8JsonWriter writer, string table, IReadOnlyDictionary<string, string> record, IReadOnlyList<string>? fields, bool excludeLinks)
    {
        writer.WriteStartObject();
        IEnumerable<string> names = fields ?? Tables.ColumnsOf(table).Concat(record.Keys).Distinct(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!Tables.IsKnownField(table, name))
            {
                continue;
            }

            var value = Tables.Resolve(table, record, name) ?? string.Empty;
            var reference = Tables.ReferenceOf(table, name);
            if (reference is not null && value.Length > 0 && !excludeLinks)
            {
                writer.WriteStartObject(name);
                writer.WriteString("link", $"{Url}/api/now/table/{reference}/{value}");
                writer.WriteString("value", value);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteString(name, value);
            }
        }

        writer.WriteEndObject();
    }

    private IResponseMessage IssueToken(IRequestMessage request)
    {
        var form = QueryHelpers.ParseQuery(request.Body ?? string.Empty);
        if (Options.OAuthClientId is null || Param(form, "grant_type") != "client_credentials")
        {
            return Json(400, """{"error_description":"access_denied","error":"server_error"}""");
        }

        if (!FixedEquals(Param(form, "client_id"), Options.OAuthClientId) || !FixedEquals(Param(form, "client_secret"), Options.OAuthClientSecret))
        {
            return Json(401, """{"error_description":"access_denied","error":"server_error"}""");
        }

        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        _tokens[token] = (Options.IntegrationUserName, Time.GetUtcNow() + Options.TokenLifetime);
        var seconds = (long)Options.TokenLifetime.TotalSeconds;
        return Json(200, $$"""{"access_token":"{{token}}","scope":"useraccount","token_type":"Bearer","expires_in":{{seconds.ToString(CultureInfo.InvariantCulture)}}}""");
    }

    private string? Authenticate(IRequestMessage request)
    {
        var authorization = Header(request, "Authorization");
        if (authorization is null)
        {
            return null;
        }

        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
                var colon = pair.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && _basicUsers.TryGetValue(pair[..colon], out var password) && FixedEquals(pair[(colon + 1)..], password))
                {
                    return pair[..colon];
                }
            }
            catch (FormatException)
            {
                return null;
            }

            return null;
        }

        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && _tokens.TryGetValue(authorization[7..].Trim(), out var grant) && grant.Expires > Time.GetUtcNow())
        {
            return grant.User;
        }

        return null;
    }

    private ResponseMessage FaultResponse(string fault)
    {
        var (kind, retryAfter) = SandboxFrontDoor.ParseFault(fault);
        switch (kind)
        {
            case SandboxFaultKind.RateLimited or SandboxFaultKind.RateLimitedResetOnly:
                {
                    var response = Json(429, """{"error":{"message":"Rate limit exceeded","detail":"Rate limit of 100 requests per hour for Table API exceeded"},"status":"failure"}""");
                    if (kind == SandboxFaultKind.RateLimited)
                    {
                        response.AddHeader("Retry-After", retryAfter.ToString(CultureInfo.InvariantCulture));
                    }

                    response.AddHeader("X-RateLimit-Limit", "100");
                    response.AddHeader("X-RateLimit-Reset", (Time.GetUtcNow().ToUnixTimeSeconds() + retryAfter).ToString(CultureInfo.InvariantCulture));
                    response.AddHeader("X-RateLimit-Rule", "6c5dd5b0c3123010a282a539e540dd10");
                    return response;
                }

            case SandboxFaultKind.ServerError:
                return Error(500, "Internal server error", "Injected by the sandbox");
            case SandboxFaultKind.Unavailable:
                return Error(503, "Service Unavailable", "Injected by the sandbox");
            default:
                return Error(401, "User Not Authenticated", "Required to provide Auth information");
        }
    }

    private static Dictionary<string, string?> ReadBody(IRequestMessage request)
    {
        var text = request.Body ?? (request.BodyAsBytes is { } bytes ? Encoding.UTF8.GetString(bytes) : string.Empty);
        using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("The request body must be a JSON object of name/value pairs.");
        }

        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            fields[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString(),
                JsonValueKind.Null => string.Empty,
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => property.Value.GetRawText(),
            };
        }

        return fields;
    }

    private static string Envelope(Action<Utf8JsonWriter> writeResult)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("result");
            writeResult(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static ResponseMessage Error(int status, string message, string? detail)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("message", message);
            if (detail is null)
            {
                writer.WriteNull("detail");
            }
            else
            {
                writer.WriteString("detail", detail);
            }

            writer.WriteEndObject();
            writer.WriteString("status", "failure");
            writer.WriteEndObject();
        }

        return Json(status, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static ResponseMessage Json(int status, string body)
    {
        var response = new ResponseMessage
        {
            StatusCode = status,
            BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String, Encoding = new UTF8Encoding(false) },
        };
        response.AddHeader("Content-Type", "application/json;charset=UTF-8");
        response.AddHeader("X-Transaction-ID", TransactionId());
        return response;
    }

    private static ResponseMessage Empty(int status)
    {
        var response = new ResponseMessage { StatusCode = status };
        response.AddHeader("X-Transaction-ID", TransactionId());
        return response;
    }

    private static string TransactionId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

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

    private static string? Param(Dictionary<string, Microsoft.Extensions.Primitives.StringValues> query, string name) =>
        query.TryGetValue(name, out var values) ? values.ToString() : null;

    private static bool FixedEquals(string? a, string? b) =>
        a is not null && b is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    [GeneratedRegex(@"^/api/now/(?:(?<version>v[12])/)?table/(?<table>[A-Za-z0-9_]+)(?:/(?<id>[^/]+))?/?$", RegexOptions.CultureInvariant)]
    private static partial Regex TableRoute();
}
