using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace IamFulfillment.Connectors.Tests.Storage;

/// <summary>The HTTP methods of the requests a storage client sent, in order (see <see cref="StorageScope.CountedTable"/>).</summary>
public sealed class RequestMethods : HttpPipelineSynchronousPolicy
{
    private readonly ConcurrentQueue<string> _sent = new();

    public IReadOnlyList<string> Sent => [.. _sent];

    public void Clear() => _sent.Clear();

    public override void OnSendingRequest(HttpMessage message) => _sent.Enqueue(message.Request.Method.Method);
}
