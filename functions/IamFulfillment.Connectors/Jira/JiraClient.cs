using System.Net;
using System.Text;
using System.Text.Json;
using IamFulfillment.Connectors.Http;
using Microsoft.Extensions.Options;
using RestSharp;

namespace IamFulfillment.Connectors.Jira;

/// <summary>
/// A thin client for the Jira Cloud platform and JSM REST APIs: RestSharp over an <see cref="HttpClient"/> from the
/// factory, so the single <see cref="RetryHandler"/> applies (it repeats GET and PUT on transient failures and any
/// call on 429; POSTs — comments, transitions — are never marked idempotent). Adds Basic authentication and maps
/// failures to typed connector errors without the body.
/// </summary>
public sealed class JiraClient
{
    public const string HttpClientName = "Jira";

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly TimeProvider _time;
    private readonly string _authorization;

    public JiraClient(IHttpClientFactory httpClientFactory, IOptions<JiraOptions> options, TimeProvider time)
    {
        _httpClientFactory = httpClientFactory;
        _time = time;
        var settings = options.Value;
        BaseUrl = new Uri(settings.BaseUrl!.TrimEnd('/') + "/", UriKind.Absolute);
        _authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.Email}:{settings.ApiToken}"));
    }

    /// <summary>The site with a trailing slash.</summary>
    public Uri BaseUrl { get; }

    /// <summary>GETs JSON; null when the resource does not exist (404) or the account may not see it.</summary>
    public async Task<JsonDocument?> GetAsync(string resource, IEnumerable<KeyValuePair<string, string>> query, string what, CancellationToken cancellationToken)
    {
        var request = NewRequest(resource, Method.Get);
        foreach (var (name, value) in query)
        {
            request.AddQueryParameter(name, value);
        }

        var response = await ExecuteAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        EnsureSuccess(response, what);
        return Parse(response, what);
    }

    /// <summary>
    /// Sends a JSON body. Statuses in <paramref name="tolerated"/> come back to the caller instead of failing (e.g. 400
    /// for a transition the workflow refuses); the body of a tolerated failure is never exposed, only the status.
    /// </summary>
    public async Task<JiraWriteResult> SendAsync(Method method, string resource, string jsonBody, string what, CancellationToken cancellationToken, params HttpStatusCode[] tolerated)
    {
        var request = NewRequest(resource, method);
        request.AddStringBody(jsonBody, ContentType.Json);
        var response = await ExecuteAsync(request, cancellationToken);
        if (!response.IsSuccessful)
        {
            if (response.StatusCode != 0 && tolerated.Contains(response.StatusCode))
            {
                return new JiraWriteResult(response.StatusCode, null);
            }

            throw JiraErrors.From(response, what, _time.GetUtcNow());
        }

        return new JiraWriteResult(response.StatusCode, response.RawBytes is { Length: > 0 } ? TryParse(response.RawBytes) : null);
    }

    private async Task<RestResponse> ExecuteAsync(RestRequest request, CancellationToken cancellationToken)
    {
        request.AddOrUpdateHeader(KnownHeaders.Authorization, _authorization);
        using var client = new RestClient(_httpClientFactory.CreateClient(HttpClientName), new RestClientOptions(BaseUrl)
        {
            Timeout = Timeout.InfiniteTimeSpan, // the retry layer times each try; the caller's token bounds the whole call
            UserAgent = "IamFulfillment",
            ThrowOnAnyError = false,
        }, disposeHttpClient: false);
        var response = await client.ExecuteAsync(request, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        return response;
    }

    private static RestRequest NewRequest(string resource, Method method)
    {
        var request = new RestRequest(resource, method);
        request.AddHeader(KnownHeaders.Accept, ContentType.Json);
        return request;
    }

    private void EnsureSuccess(RestResponse response, string what)
    {
        if (!response.IsSuccessful)
        {
            throw JiraErrors.From(response, what, _time.GetUtcNow());
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
            throw JiraErrors.NotJson(response, what, ex);
        }
    }

    private static JsonDocument? TryParse(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The status of a write and its JSON answer, if it had one. Dispose it to release the document.</summary>
public sealed record JiraWriteResult(HttpStatusCode Status, JsonDocument? Json) : IDisposable
{
    public bool Succeeded => (int)Status is >= 200 and < 300;

    public void Dispose() => Json?.Dispose();
}
