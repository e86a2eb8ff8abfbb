using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RestSharp;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>
/// A thin Table API client: RestSharp over an <see cref="HttpClient"/> from the factory, so the single
/// <see cref="RetryHandler"/> applies. Adds authentication (Basic, or an OAuth client-credentials token cached
/// until shortly before it expires) and maps failures to <see cref="ConnectorException"/>s.
/// </summary>
public sealed partial class ServiceNowClient
{
    public const string HttpClientName = "ServiceNow";

    private const int MaxPages = 50;

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly ServiceNowOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceNowClient> _logger;
    private readonly Uri _baseUrl;
    private readonly string? _basicAuthorization;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private CachedToken? _token;

    public ServiceNowClient(IHttpClientFactory httpClientFactory, IOptions<ServiceNowOptions> options, TimeProvider time, ILogger<ServiceNowClient> logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _baseUrl = new Uri(_options.InstanceUrl!.TrimEnd('/') + "/", UriKind.Absolute);
        if (!_options.UsesOAuth)
        {
            _basicAuthorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_options.Username}:{_options.Password}"));
        }
    }

    /// <summary>Rows per page of a list call.</summary>
    internal int PageSize { get; init; } = 1000;

    public Uri InstanceUrl => _baseUrl;

    /// <summary>One record with the given fields (dot-walks allowed, reference links excluded); null when it does not exist.</summary>
    public async Task<IReadOnlyDictionary<string, string>?> GetRecordAsync(string table, string sysId, IReadOnlyList<string> fields, CancellationToken cancellationToken)
    {
        var what = $"GET {table}";
        var response = await SendAsync(() =>
        {
            var request = NewRequest($"api/now/table/{table}/{ServiceNowQuery.SysId(sysId, nameof(sysId))}", Method.Get);
            AddReadParameters(request, fields);
            return request;
        }, cancellationToken);

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        EnsureSuccess(response, what);
        using var document = Parse(response, what);
        return document.RootElement.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object
            ? Flatten(result)
            : throw ServiceNowErrors.NotJson(response, what, null);
    }

    /// <summary>Records matching an encoded query, following pages until all are read (or <paramref name="limit"/> is reached).</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> ListAsync(string table, string query, IReadOnlyList<string> fields, CancellationToken cancellationToken, int? limit = null)
    {
        var what = $"GET {table} list";
        var rows = new List<IReadOnlyDictionary<string, string>>();
        var pageSize = limit ?? PageSize;
        for (var page = 0; page < MaxPages; page++)
        {
            var offset = rows.Count;
            var response = await SendAsync(() =>
            {
                var request = NewRequest($"api/now/table/{table}", Method.Get);
                request.AddQueryParameter("sysparm_query", query);
                AddReadParameters(request, fields);
                request.AddQueryParameter("sysparm_limit", pageSize.ToString(CultureInfo.InvariantCulture));
                if (offset > 0)
                {
                    request.AddQueryParameter("sysparm_offset", offset.ToString(CultureInfo.InvariantCulture));
                }

                return request;
            }, cancellationToken);

            EnsureSuccess(response, what);
            using var document = Parse(response, what);
            if (!document.RootElement.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Array)
            {
                throw ServiceNowErrors.NotJson(response, what, null);
            }

            var count = 0;
            foreach (var row in result.EnumerateArray())
            {
                rows.Add(Flatten(row));
                count++;
            }

            var total = TotalCount(response);
            if (limit is not null || count < pageSize || (total is { } t && rows.Count >= t))
            {
                break;
            }
        }

        return rows;
    }

    /// <summary>
    /// One PATCH of name/value pairs, asking for no echoed record. Not idempotent (journal fields append), so the
    /// retry layer repeats it only on 429. False when the record does not exist.
    /// </summary>
    public async Task<bool> PatchAsync(string table, string sysId, IReadOnlyDictionary<string, string> values, CancellationToken cancellationToken)
    {
        var what = $"PATCH {table}";
        var body = JsonSerializer.Serialize(values);
        var response = await SendAsync(() =>
        {
            var request = NewRequest($"api/now/table/{table}/{ServiceNowQuery.SysId(sysId, nameof(sysId))}", Method.Patch);
            request.AddHeader("X-no-response-body", "true");
            request.AddStringBody(body, ContentType.Json);
            return request;
        }, cancellationToken);

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        EnsureSuccess(response, what);
        return true;
    }

    private async Task<RestResponse> SendAsync(Func<RestRequest> build, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var request = build();
            var authorization = await AuthorizationAsync(cancellationToken);
            request.AddOrUpdateHeader(KnownHeaders.Authorization, authorization);
            using var client = NewRestClient();
            var response = await client.ExecuteAsync(request, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (response.StatusCode == HttpStatusCode.Unauthorized && _basicAuthorization is null && attempt == 1)
            {
                // A token can be revoked or expire early: the server did not act on a 401, so one retry with a new token is safe.
                ForgetToken(authorization);
                LogTokenRejected();
                continue;
            }

            return response;
        }
    }

    private async ValueTask<string> AuthorizationAsync(CancellationToken cancellationToken)
    {
        if (_basicAuthorization is not null)
        {
            return _basicAuthorization;
        }

        var cached = Volatile.Read(ref _token);
        if (cached is not null && _time.GetUtcNow() < cached.RefreshAt)
        {
            return cached.Header;
        }

        await _tokenLock.WaitAsync(cancellationToken);
        try
        {
            cached = Volatile.Read(ref _token);
            if (cached is null || _time.GetUtcNow() >= cached.RefreshAt)
            {
                cached = await FetchTokenAsync(cancellationToken);
                Volatile.Write(ref _token, cached);
            }

            return cached.Header;
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    private void ForgetToken(string authorization)
    {
        var cached = Volatile.Read(ref _token);
        if (cached is not null && cached.Header == authorization)
        {
            Interlocked.CompareExchange(ref _token, null, cached);
        }
    }

    private async Task<CachedToken> FetchTokenAsync(CancellationToken cancellationToken)
    {
        const string What = "OAuth token request";
        var request = NewRequest("oauth_token.do", Method.Post);
        request.AddParameter("grant_type", "client_credentials");
        request.AddParameter("client_id", _options.ClientId!);
        request.AddParameter("client_secret", _options.ClientSecret!);

        // Asking for a token twice does no harm: let the retry layer repeat it on 5xx and timeouts.
        request.Interceptors = [MarkIdempotent.Instance];

        using var client = NewRestClient();
        var response = await client.ExecuteAsync(request, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureSuccess(response, What);

        using var document = Parse(response, What);
        var root = document.RootElement;
        var token = root.TryGetProperty("access_token", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (string.IsNullOrEmpty(token))
        {
            throw new ConnectorException(ServiceNowErrors.System, (int)response.StatusCode, $"{What}: the answer holds no access_token");
        }

        var seconds = root.TryGetProperty("expires_in", out var e) ? e.ValueKind switch
        {
            JsonValueKind.Number => e.GetDouble(),
            JsonValueKind.String when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) => s,
            _ => 0,
        } : 0;
        var lifetime = TimeSpan.FromSeconds(seconds > 0 ? seconds : 1800);
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(60).Ticks, lifetime.Ticks / 5));
        LogTokenFetched(lifetime.TotalSeconds);
        return new CachedToken("Bearer " + token, _time.GetUtcNow() + lifetime - margin);
    }

    private RestClient NewRestClient() =>
        new(_httpClientFactory.CreateClient(HttpClientName), new RestClientOptions(_baseUrl)
        {
            Timeout = Timeout.InfiniteTimeSpan, // the retry layer times each try; the caller's token bounds the whole call
            UserAgent = "IamFulfillment",
            ThrowOnAnyError = false,
        }, disposeHttpClient: false);

    private static RestRequest NewRequest(string resource, Method method)
    {
        var request = new RestRequest(resource, method);
        request.AddHeader(KnownHeaders.Accept, ContentType.Json);
        return request;
    }

    private static void AddReadParameters(RestRequest request, IReadOnlyList<string> fields)
    {
        request.AddQueryParameter("sysparm_fields", string.Join(",", fields));
        request.AddQueryParameter("sysparm_exclude_reference_link", "true");
    }

    private void EnsureSuccess(RestResponse response, string what)
    {
        if (!response.IsSuccessful)
        {
            throw ServiceNowErrors.From(response, what, _time.GetUtcNow());
        }
    }

    private static JsonDocument Parse(RestResponse response, string what)
    {
        try
        {
            return JsonDocument.Parse(response.RawBytes ?? []);
        }
        catch (JsonException ex)
        {
            throw ServiceNowErrors.NotJson(response, what, ex);
        }
    }

    private static int? TotalCount(RestResponse response)
    {
        var header = response.Headers?.FirstOrDefault(h => string.Equals(h.Name, "X-Total-Count", StringComparison.OrdinalIgnoreCase));
        return int.TryParse(header?.Value?.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var total) ? total : null;
    }

    /// <summary>A record as name → text; a reference given as {"link","value"} reads as its value.</summary>
    internal static Dictionary<string, string> Flatten(JsonElement record)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (record.ValueKind != JsonValueKind.Object)
        {
            return values;
        }

        foreach (var property in record.EnumerateObject())
        {
            values[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString() ?? string.Empty,
                JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
                JsonValueKind.Object when property.Value.TryGetProperty("value", out var value) => value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : value.GetRawText(),
                _ => property.Value.GetRawText(),
            };
        }

        return values;
    }

    private sealed record CachedToken(string Header, DateTimeOffset RefreshAt);

    private sealed class MarkIdempotent : RestSharp.Interceptors.Interceptor
    {
        public static readonly MarkIdempotent Instance = new();

        public override ValueTask BeforeHttpRequest(HttpRequestMessage requestMessage, CancellationToken cancellationToken)
        {
            requestMessage.Options.Set(RequestSafety.Idempotent, true);
            return ValueTask.CompletedTask;
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "ServiceNow OAuth token obtained (valid for {LifetimeSeconds:0} s)")]
    private partial void LogTokenFetched(double lifetimeSeconds);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "ServiceNow refused the cached OAuth token; fetching a new one")]
    private partial void LogTokenRejected();
}
