using IamFulfillment.Connectors.Http;
using Microsoft.Kiota.Abstractions;

namespace IamFulfillment.Connectors.Graph;

/// <summary>
/// Per-request settings handed through the Graph SDK to our handlers (Kiota copies request options into
/// <see cref="HttpRequestMessage.Options"/> under the option type's full name), and the Graph <c>request-id</c>
/// that comes back.
/// </summary>
internal sealed class GraphCall : IRequestOption
{
    private static readonly HttpRequestOptionsKey<IRequestOption> Key = new(typeof(GraphCall).FullName!);

    /// <summary>Safe to send twice (the retry layer and the batcher may repeat it after a 5xx or a timeout).</summary>
    public bool Idempotent { get; init; }

    /// <summary>May travel inside a JSON batch.</summary>
    public bool Batchable { get; init; }

    /// <summary>Graph's <c>request-id</c> of the answer (of the batch, when the request went in one).</summary>
    public string? RequestId { get; set; }

    public static GraphCall? Of(HttpRequestMessage request) =>
        request.Options.TryGetValue(Key, out var option) ? option as GraphCall : null;
}

/// <summary>
/// Outermost Graph handler: turns <see cref="GraphCall.Idempotent"/> into the retry layer's
/// <see cref="RequestSafety.Idempotent"/> mark and records the answer's <c>request-id</c>.
/// </summary>
internal sealed class GraphCallHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var call = GraphCall.Of(request);
        if (call?.Idempotent == true)
        {
            request.Options.Set(RequestSafety.Idempotent, true);
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (call is not null)
        {
            call.RequestId = HttpFailures.RequestId(response.Headers);
        }

        return response;
    }
}
