using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IamFulfillment.Connectors.Http;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Graph;

/// <summary>
/// Opportunistic micro-batching of Graph requests. A request issued while nothing is in flight, or while the request
/// rate is below <c>BatchingMinRate</c>, goes out at once as a plain request (no added latency for a lone ticket,
/// even for its parallel lookups). Requests issued while calls are in flight wait, and go out
/// together as a JSON <c>$batch</c> (up to <c>MaxBatchSize</c>) as soon as a full batch has gathered or nothing is
/// in flight any more, with at most <c>MaxConcurrentCalls</c> HTTP calls in flight. Only requests marked
/// <see cref="GraphCall.Batchable"/> take part; items are independent (no <c>dependsOn</c>).
/// </summary>
/// <remarks>
/// Graph throttles every request inside a batch on its own, so a batch answers 200 with some items 429. Those are
/// sent again after their <c>Retry-After</c> (never sooner), and 5xx items only when idempotent, with the same
/// bounds as <see cref="RetryHandler"/>, which sits below this class and handles the <c>$batch</c> call itself.
/// Each caller gets exactly its own answer as an <see cref="HttpResponseMessage"/>, so the SDK above cannot tell a
/// batched request from a plain one.
/// </remarks>
internal sealed partial class GraphBatcher : IDisposable
{
    internal delegate Task<HttpResponseMessage> Sender(HttpRequestMessage request, CancellationToken cancellationToken);

    /// <summary>Headers that belong to the HTTP call, not to a request inside a batch.</summary>
    private static readonly HashSet<string> CallHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Host", "Content-Length", "Connection", "Transfer-Encoding", "Accept-Encoding", "Expect", "Retry-Attempt",
    };

    private readonly Sender _send;
    private readonly Uri _baseUri;
    private readonly string _basePath;
    private readonly int _maxBatchSize;
    private readonly int _maxConcurrentCalls;
    private readonly RetryOptions _retry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly LinkedList<Pending> _queue = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _batchingMinRate;
    private long _windowStart;
    private int _windowCount;
    private int _previousWindowCount;
    private int _windowPeak;
    private int _previousWindowPeak;
    private int _inFlight;
    private bool _disposed;

    // In a burst (rate-detected, not Graph:BatchingMinRate 0) a partial batch with nothing in flight lingers this long,
    // real time: the callers of the batch just answered are enqueueing their next requests, and without the pause
    // the first of them would go out alone and split every wave in two.
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(5);
    private bool _burst;
    private LingerState _linger;

    public GraphBatcher(Uri baseUri, int maxBatchSize, int maxConcurrentCalls, int batchingMinRate, RetryOptions retry, TimeProvider time, ILogger logger, Sender send)
    {
        _baseUri = new Uri(baseUri.AbsoluteUri.TrimEnd('/') + "/");
        _basePath = _baseUri.AbsolutePath.TrimEnd('/');
        _maxBatchSize = Math.Clamp(maxBatchSize, 1, 20);
        _maxConcurrentCalls = Math.Max(1, maxConcurrentCalls);
        _batchingMinRate = batchingMinRate;
        _retry = retry;
        _time = time;
        _logger = logger;
        _send = send;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!TryGetRelativeUrl(request, out var relativeUrl))
        {
            return await _send(request, cancellationToken);
        }

        bool alone;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // At a quiet rate requests go out at once, so a lone ticket's parallel lookups cost one round trip; in a
            // burst (a bulk leaver event) they queue and gather into batches while calls are in flight.
            var quiet = !AboveBatchingRate();
            _burst = !quiet && _batchingMinRate > 0;
            alone = _queue.Count == 0 && ((_inFlight == 0 && !_burst) || (quiet && _inFlight < _maxConcurrentCalls));
            if (alone)
            {
                _inFlight++;
            }
        }

        if (alone)
        {
            try
            {
                return await _send(request, cancellationToken);
            }
            finally
            {
                Release();
            }
        }

        var pending = await Pending.CreateAsync(request, relativeUrl, cancellationToken);
        using var registration = cancellationToken.Register(() => Cancel(pending));
        Enqueue(pending);
        return await pending.Task;
    }

    /// <summary>
    /// Counts this arrival and tells whether the recent traffic (a 100 ms sliding window) calls for batching: a rate
    /// above <c>Graph:BatchingMinRate</c> with, at some moment, as many requests waiting or in flight as calls may be
    /// in flight. The second condition keeps a lone ticket out of it: one ticket after another at a high rate still
    /// has at most a few requests in the air, and each would only wait for a batch to fill.
    /// </summary>
    private bool AboveBatchingRate()
    {
        if (_batchingMinRate == 0)
        {
            return true;
        }

        var now = _time.GetTimestamp();
        var window = _time.TimestampFrequency / 10;
        var elapsed = now - _windowStart;
        if (elapsed >= 2 * window)
        {
            (_previousWindowCount, _previousWindowPeak) = (0, 0);
            (_windowCount, _windowPeak) = (0, 0);
            _windowStart = now;
            elapsed = 0;
        }
        else if (elapsed >= window)
        {
            (_previousWindowCount, _previousWindowPeak) = (_windowCount, _windowPeak);
            (_windowCount, _windowPeak) = (0, 0);
            _windowStart += window;
            elapsed -= window;
        }

        _windowCount++;
        _windowPeak = Math.Max(_windowPeak, _inFlight + _queue.Count + 1);
        var recent = _windowCount + (_previousWindowCount * (window - elapsed) / (double)window);
        return recent * 10 > _batchingMinRate && Math.Max(_windowPeak, _previousWindowPeak) >= _maxConcurrentCalls;
    }

    public void Dispose()
    {
        List<Pending> abandoned;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            abandoned = [.. _queue];
            _queue.Clear();
        }

        foreach (var pending in abandoned)
        {
            pending.Fail(new ObjectDisposedException(nameof(GraphBatcher)));
        }

        _stopping.Cancel();
        _stopping.Dispose();
    }

    private bool TryGetRelativeUrl(HttpRequestMessage request, out string relativeUrl)
    {
        relativeUrl = "";
        if (GraphCall.Of(request) is not { Batchable: true } || request.RequestUri is not { IsAbsoluteUri: true } uri)
        {
            return false;
        }

        if (Uri.Compare(uri, _baseUri, UriComponents.SchemeAndServer, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) != 0)
        {
            return false;
        }

        var pathAndQuery = uri.PathAndQuery;
        if (!pathAndQuery.StartsWith(_basePath + "/", StringComparison.Ordinal))
        {
            return false;
        }

        // Inside a batch a body travels as JSON; anything else goes out on its own.
        if (request.Content is { } content && content.Headers.ContentType?.MediaType is not (null or "application/json"))
        {
            return false;
        }

        relativeUrl = pathAndQuery[_basePath.Length..];
        return true;
    }

    private void Enqueue(Pending pending)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                pending.Fail(new ObjectDisposedException(nameof(GraphBatcher)));
                return;
            }

            if (pending.IsDone)
            {
                return;
            }

            pending.Node = _queue.AddLast(pending);
        }

        Pump();
    }

    private void Cancel(Pending pending)
    {
        lock (_gate)
        {
            if (pending.Node is { } node)
            {
                _queue.Remove(node);
                pending.Node = null;
            }
        }

        pending.Cancel();
    }

    private void Release()
    {
        lock (_gate)
        {
            _inFlight--;
        }

        Pump();
    }

    /// <summary>
    /// Sends what is queued when a call slot is free and either nothing is in flight or a full batch is waiting. A
    /// partial batch thus waits at most until the calls in flight are back (about one round trip), and the answers
    /// of one batch, whose callers go on to their next requests together, gather into the next batch.
    /// </summary>
    private void Pump()
    {
        List<List<Pending>>? batches = null;
        lock (_gate)
        {
            while (!_disposed && _queue.Count > 0 && _inFlight < _maxConcurrentCalls
                && (_inFlight == 0 || _queue.Count >= _maxBatchSize))
            {
                if (_inFlight == 0 && _queue.Count < _maxBatchSize && _burst && StillLingering())
                {
                    break;
                }

                var batch = new List<Pending>(Math.Min(_queue.Count, _maxBatchSize));
                while (batch.Count < _maxBatchSize && _queue.First is { } node)
                {
                    _queue.RemoveFirst();
                    node.Value.Node = null;
                    if (!node.Value.IsDone)
                    {
                        batch.Add(node.Value);
                    }
                }

                if (batch.Count > 0)
                {
                    _inFlight++;
                    (batches ??= []).Add(batch);
                }
            }
        }

        foreach (var batch in batches ?? [])
        {
            _ = DispatchAsync(batch);
        }
    }

    private enum LingerState
    {
        None,
        Running,
        Over,
    }

    /// <summary>Starts the linger of a partial batch (a pump follows when it ends) or tells whether it is still running; under the gate.</summary>
    private bool StillLingering()
    {
        switch (_linger)
        {
            case LingerState.None:
                _linger = LingerState.Running;
                _ = Task.Delay(Linger).ContinueWith(_ =>
                {
                    lock (_gate)
                    {
                        _linger = LingerState.Over;
                    }

                    Pump();
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                return true;
            case LingerState.Running:
                return true;
            default:
                _linger = LingerState.None;
                return false;
        }
    }

    private async Task DispatchAsync(List<Pending> batch)
    {
        try
        {
            if (batch.Count == 1)
            {
                // A batch of one is a plain request: the retry layer below treats it like any other.
                batch[0].Deliver(await _send(batch[0].Request, batch[0].CancellationToken));
            }
            else
            {
                await SendBatchAsync(batch);
            }
        }
        catch (Exception ex)
        {
            foreach (var pending in batch)
            {
                pending.Fail(Copy(ex));
            }
        }
        finally
        {
            Release();
        }
    }

    private async Task SendBatchAsync(List<Pending> batch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_baseUri, "$batch"))
        {
            Content = new ByteArrayContent(BatchBody(batch)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = batch[0].Request.Headers.Authorization;
        request.Options.Set(RequestSafety.Idempotent, batch.TrueForAll(p => p.Idempotent));
        LogBatch(batch.Count);

        using var response = await _send(request, _stopping.Token);
        var content = await response.Content.ReadAsByteArrayAsync(_stopping.Token);
        if (!response.IsSuccessStatusCode)
        {
            // The batch as a whole failed (throttled or 5xx beyond the retry layer, or refused): so did each request.
            foreach (var pending in batch)
            {
                pending.Deliver(CopyOf(response, content, pending.Request));
            }

            return;
        }

        var batchRequestId = HttpFailures.RequestId(response.Headers);
        var now = _time.GetUtcNow();
        var answered = new bool[batch.Count];
        using var document = JsonDocument.Parse(content);
        foreach (var item in document.RootElement.GetProperty("responses").EnumerateArray())
        {
            if (!int.TryParse(item.GetProperty("id").GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                || number < 1 || number > batch.Count || answered[number - 1])
            {
                continue;
            }

            answered[number - 1] = true;
            var pending = batch[number - 1];
            var status = item.GetProperty("status").GetInt32();
            var headers = ReadHeaders(item);
            if (RetryWait(pending, status, headers, now) is { } wait)
            {
                pending.Attempt++;
                LogItemRetry(pending.Method, status, pending.Attempt - 1, wait.TotalMilliseconds);
                _ = RetryLaterAsync(pending, wait);
                continue;
            }

            pending.Deliver(Answer(pending, status, headers, item, batchRequestId));
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (!answered[i])
            {
                batch[i].Fail(new HttpRequestException("Graph answered the batch without a response for this request."));
            }
        }
    }

    /// <summary>How long to wait before sending a batch item again, or null to hand its answer to the caller.</summary>
    private TimeSpan? RetryWait(Pending pending, int status, Dictionary<string, string> headers, DateTimeOffset now)
    {
        var throttled = status == (int)HttpStatusCode.TooManyRequests;
        var transient = status is 408 or 500 or 502 or 503 or 504;
        if ((!throttled && !(transient && pending.Idempotent)) || pending.Attempt >= _retry.MaxAttempts)
        {
            return null;
        }

        var retryAfter = headers.TryGetValue("Retry-After", out var value) ? RetryAfter.Parse(value, now) : null;
        if (retryAfter > _retry.MaxRetryAfter)
        {
            // A long wait is the caller's to schedule (it re-queues the ticket instead of holding a worker).
            return null;
        }

        return retryAfter is { } asked ? RetryAfter.Honouring(asked) : Backoff(pending.Attempt);
    }

    private async Task RetryLaterAsync(Pending pending, TimeSpan wait)
    {
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(pending.CancellationToken, _stopping.Token);
            await Task.Delay(wait, _time, linked.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            if (pending.CancellationToken.IsCancellationRequested)
            {
                pending.Cancel();
            }
            else
            {
                pending.Fail(new ObjectDisposedException(nameof(GraphBatcher)));
            }

            return;
        }

        Enqueue(pending);
    }

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_retry.MaxDelay.TotalMilliseconds, _retry.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
#pragma warning disable CA5394 // jitter, not security
        return TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
#pragma warning restore CA5394
    }

    private static byte[] BatchBody(List<Pending> batch)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("requests");
            for (var i = 0; i < batch.Count; i++)
            {
                var pending = batch[i];
                var hasBody = pending.Body is { Length: > 0 };
                writer.WriteStartObject();
                writer.WriteString("id", (i + 1).ToString(CultureInfo.InvariantCulture));
                writer.WriteString("method", pending.Method);
                writer.WriteString("url", pending.RelativeUrl);
                writer.WriteStartObject("headers");
                foreach (var (name, value) in pending.Headers)
                {
                    if (hasBody || !string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
                    {
                        writer.WriteString(name, value);
                    }
                }

                writer.WriteEndObject();
                if (hasBody)
                {
                    writer.WritePropertyName("body");
                    writer.WriteRawValue(pending.Body!);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static Dictionary<string, string> ReadHeaders(JsonElement item)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (item.TryGetProperty("headers", out var element) && element.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in element.EnumerateObject())
            {
                headers[header.Name] = header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString()! : header.Value.GetRawText();
            }
        }

        return headers;
    }

    /// <summary>One batch item's answer as the HTTP response the caller would have had from a plain request.</summary>
    private static HttpResponseMessage Answer(Pending pending, int status, Dictionary<string, string> headers, JsonElement item, string? batchRequestId)
    {
        var contentType = headers.GetValueOrDefault("Content-Type");
        byte[] bytes = [];
        if (item.TryGetProperty("body", out var body) && body.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
        {
            if (body.ValueKind == JsonValueKind.String && contentType is not null && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                // Non-JSON bodies come back base64-encoded.
                var text = body.GetString()!;
                bytes = TryBase64(text) ?? Encoding.UTF8.GetBytes(text);
            }
            else
            {
                bytes = Encoding.UTF8.GetBytes(body.GetRawText());
                contentType ??= "application/json";
            }
        }

        var response = new HttpResponseMessage((HttpStatusCode)status) { RequestMessage = pending.Request, Content = new ByteArrayContent(bytes) };
        if (bytes.Length > 0 && contentType is not null)
        {
            response.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        foreach (var (name, value) in headers)
        {
            if (!string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase) && !response.Headers.TryAddWithoutValidation(name, value))
            {
                response.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (!response.Headers.Contains("request-id") && batchRequestId is not null)
        {
            response.Headers.TryAddWithoutValidation("request-id", batchRequestId);
        }

        return response;
    }

    private static byte[]? TryBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }

    private static HttpResponseMessage CopyOf(HttpResponseMessage response, byte[] content, HttpRequestMessage request)
    {
        var copy = new HttpResponseMessage(response.StatusCode) { RequestMessage = request, Content = new ByteArrayContent(content) };
        foreach (var header in response.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var header in response.Content.Headers)
        {
            copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return copy;
    }

    /// <summary>A fresh exception per caller: one instance rethrown from many awaits would share a mangled stack trace.</summary>
    private Exception Copy(Exception ex) => ex switch
    {
        _ when _stopping.IsCancellationRequested => new ObjectDisposedException(nameof(GraphBatcher)),
        TimeoutException => new TimeoutException(ex.Message, ex),
        HttpRequestException http => new HttpRequestException(http.HttpRequestError, http.Message, http, http.StatusCode),
        OperationCanceledException => new OperationCanceledException(ex.Message, ex),
        _ => new HttpRequestException("Graph batch failed: " + ex.Message, ex),
    };

    [LoggerMessage(EventId = 3120, Level = LogLevel.Debug, Message = "Graph batch of {Count} requests sent")]
    private partial void LogBatch(int count);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Information, Message = "Graph batch item {Method} retried after {Status} (attempt {Attempt}, waiting {DelayMs:0} ms)")]
    private partial void LogItemRetry(string method, int status, int attempt, double delayMs);

    /// <summary>A request waiting for (or travelling in) a batch.</summary>
    private sealed class Pending
    {
        private readonly TaskCompletionSource<HttpResponseMessage> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private Pending(HttpRequestMessage request, string relativeUrl, byte[]? body, List<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
        {
            Request = request;
            RelativeUrl = relativeUrl;
            Body = body;
            Headers = headers;
            CancellationToken = cancellationToken;
            Idempotent = RequestSafety.IsIdempotent(request);
        }

        public HttpRequestMessage Request { get; }
        public string Method => Request.Method.Method;
        public string RelativeUrl { get; }
        public byte[]? Body { get; }
        public List<KeyValuePair<string, string>> Headers { get; }
        public bool Idempotent { get; }
        public CancellationToken CancellationToken { get; }
        public int Attempt { get; set; } = 1;
        public LinkedListNode<Pending>? Node { get; set; }
        public Task<HttpResponseMessage> Task => _completion.Task;
        public bool IsDone => _completion.Task.IsCompleted;

        public static async Task<Pending> CreateAsync(HttpRequestMessage request, string relativeUrl, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var header in request.Headers)
            {
                if (!CallHeaders.Contains(header.Key))
                {
                    headers.Add(new(header.Key, string.Join(", ", header.Value)));
                }
            }

            if (request.Content?.Headers.ContentType is { } contentType)
            {
                headers.Add(new("Content-Type", contentType.ToString()));
            }

            return new Pending(request, relativeUrl, body, headers, cancellationToken);
        }

        public void Deliver(HttpResponseMessage response)
        {
            if (!_completion.TrySetResult(response))
            {
                response.Dispose();
            }
        }

        public void Fail(Exception ex) => _completion.TrySetException(ex);

        public void Cancel() => _completion.TrySetCanceled(CancellationToken);
    }
}

/// <summary>The <see cref="GraphBatcher"/> as a handler between <see cref="GraphCallHandler"/> and <see cref="RetryHandler"/>.</summary>
internal sealed class GraphBatchingHandler : DelegatingHandler
{
    private readonly GraphBatcher _batcher;

    public GraphBatchingHandler(GraphOptions options, RetryOptions retry, TimeProvider time, ILogger logger) =>
        _batcher = new GraphBatcher(options.BaseUri, options.MaxBatchSize, options.MaxConcurrentCalls, options.BatchingMinRate, retry, time, logger, SendInnerAsync);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _batcher.SendAsync(request, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _batcher.Dispose();
        }

        base.Dispose(disposing);
    }

    private Task<HttpResponseMessage> SendInnerAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);
}
