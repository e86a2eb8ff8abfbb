using Azure.Core;
using Azure.Core.Pipeline;

namespace IamFulfillment.Connectors.Tests.Storage;

/// <summary>
/// Loses the answer to the first request <paramref name="matches"/> picks: the request reaches the service and is
/// carried out, then the client sees a dropped connection, which its retry policy answers by sending it again. Use it
/// inside the retry loop (<see cref="StorageScope.RetriedTable"/>).
/// </summary>
public sealed class LostAnswer(Func<Request, bool> matches) : HttpPipelinePolicy
{
    private int _lost;

    /// <summary>Whether an answer was lost (the request it belonged to was carried out).</summary>
    public bool Lost => Volatile.Read(ref _lost) == 1;

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline);
        if (Volatile.Read(ref _lost) == 0 && matches(message.Request) && Interlocked.Exchange(ref _lost, 1) == 0)
        {
            throw new IOException("The connection was reset before the answer arrived (test).");
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        throw new NotSupportedException("The table client is used asynchronously only.");
}
