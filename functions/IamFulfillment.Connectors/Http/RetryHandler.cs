using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Http;

/// <summary>The single retry layer of every outgoing call (ServiceNow, Jira, Graph). Queue redelivery sits above it, nothing below.</summary>
public sealed class RetryOptions
{
    /// <summary>Tries per call, the first included.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First backoff step; doubles per attempt, with full jitter.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest backoff between tries when the server did not say how long to wait.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest <c>Retry-After</c> waited for in-process. A longer wait is handed back to the caller, which re-queues
    /// the ticket with a visibility delay instead of holding a worker.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for one try.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Marks requests that are safe to send twice although their method is POST or PATCH.</summary>
public static class RequestSafety
{
    public static readonly HttpRequestOptionsKey<bool> Idempotent = new("iamf.idempotent");

    public static bool IsIdempotent(HttpRequestMessage request) =>
        (request.Options.TryGetValue(Idempotent, out var marked) && marked)
        || request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Put
        || request.Method == HttpMethod.Delete || request.Method == HttpMethod.Options;
}

/// <summary>
/// Retries throttling (429, always safe: the server did not act) and transient failures (5xx, timeouts, resets:
/// only for idempotent requests, since a non-idempotent one may have been applied). Honours <c>Retry-After</c>
/// and never retries sooner; otherwise bounded exponential backoff with full jitter.
/// </summary>
public sealed partial class RetryHandler(string system, RetryOptions options, TimeProvider time, ILogger logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var idempotent = RequestSafety.IsIdempotent(request);
        for (var attempt = 1; ; attempt++)
        {
            using var attemptRequest = attempt == 1 ? null : Clone(request, body);
            var toSend = attemptRequest ?? WithBufferedContent(request, body);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.AttemptTimeout);
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(toSend, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (!idempotent || attempt >= options.MaxAttempts)
                {
                    throw new TimeoutException($"{system} did not answer within {options.AttemptTimeout.TotalSeconds:0} s.");
                }

                LogRetry(system, request.Method.Method, "timeout", attempt, 0);
                await Task.Delay(Backoff(attempt), time, cancellationToken);
                continue;
            }
            catch (HttpRequestException ex) when (attempt < options.MaxAttempts && (idempotent || NeverSent(ex)))
            {
                var wait = Backoff(attempt);
                LogRetry(system, request.Method.Method, ex.HttpRequestError.ToString(), attempt, wait.TotalMilliseconds);
                await Task.Delay(wait, time, cancellationToken);
                continue;
            }

            if (attempt >= options.MaxAttempts || !ShouldRetry(response.StatusCode, idempotent))
            {
                return response;
            }

            var retryAfter = RetryAfter.From(response.Headers, time.GetUtcNow());
            if (retryAfter > options.MaxRetryAfter)
            {
                return response;
            }

            var delay = retryAfter is { } asked ? RetryAfter.Honouring(asked) : Backoff(attempt);
            LogRetry(system, request.Method.Method, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), attempt, delay.TotalMilliseconds);
            response.Dispose();
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    private static bool ShouldRetry(HttpStatusCode status, bool idempotent) =>
        status == HttpStatusCode.TooManyRequests
        || (idempotent && status is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout);

    /// <summary>A refused connection never reached the server, so even a POST may be sent again.</summary>
    private static bool NeverSent(HttpRequestException ex) =>
        ex.HttpRequestError == HttpRequestError.ConnectionError && ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(options.MaxDelay.TotalMilliseconds, options.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
#pragma warning disable CA5394 // jitter, not security
        return TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
#pragma warning restore CA5394
    }

    private static HttpRequestMessage WithBufferedContent(HttpRequestMessage request, byte[]? body)
    {
        if (body is not null && request.Content is not ByteArrayContent)
        {
            var headers = request.Content!.Headers;
            var content = new ByteArrayContent(body);
            foreach (var header in headers)
            {
                content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            request.Content = content;
        }

        return request;
    }

    private static HttpRequestMessage Clone(HttpRequestMessage request, byte[]? body)
    {
        var clone = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var header in request.Headers)
        {
            clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var option in request.Options)
        {
            clone.Options.TryAdd(option.Key, option.Value);
        }

        if (body is not null)
        {
            clone.Content = new ByteArrayContent(body);
            foreach (var header in request.Content!.Headers)
            {
                clone.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return clone;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{System} {Method} retried after {Reason} (attempt {Attempt}, waiting {DelayMs:0} ms)")]
    private partial void LogRetry(string system, string method, string reason, int attempt, double delayMs);
}
