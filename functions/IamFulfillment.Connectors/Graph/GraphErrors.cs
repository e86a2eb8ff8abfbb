using System.Net;
using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Ports;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Kiota.Abstractions;

namespace IamFulfillment.Connectors.Graph;

/// <summary>What Graph said when it refused a request: status, error code and message, request id, wait asked for.</summary>
internal sealed record GraphFailure(int? Status, string? Code, string? Message, string? RequestId, TimeSpan? RetryAfter)
{
    /// <summary>Throttling, 5xx, timeouts and dropped connections: worth trying again later.</summary>
    public bool IsTransient => Status is null || HttpFailures.IsTransient((HttpStatusCode)Status.Value);

    public bool MessageContains(string text) => Message?.Contains(text, StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>"Authorization_RequestDenied: Insufficient privileges to complete the operation. (HTTP 403)".</summary>
    public string Describe()
    {
        var message = Message is { Length: > 200 } text200 ? text200[..200] + "…" : Message;
        var text = (Code, message) switch
        {
            (null, null) => "no error details",
            (null, _) => message!,
            (_, null) => Code,
            _ => $"{Code}: {message}",
        };
        return Status is { } status ? $"{text} (HTTP {status})" : text;
    }
}

/// <summary>
/// Maps what the Graph SDK throws (<see cref="ODataError"/>, other <see cref="ApiException"/>s, transport failures)
/// to the connector contract: <see cref="ChangeResult"/>s for refused changes, <see cref="ConnectorException"/> for
/// failed reads, <see cref="TransientConnectorException"/> (with Graph's <c>Retry-After</c>) for anything worth
/// retrying later. Never the raw response body.
/// </summary>
internal static class GraphErrors
{
    public const string System = "Graph";

    /// <summary>Reads a failure from an exception the SDK or the HTTP pipeline threw; null when it is not a Graph or transport failure.</summary>
    public static GraphFailure? Read(Exception exception, DateTimeOffset now) => exception switch
    {
        ODataError odata => new GraphFailure(
            odata.ResponseStatusCode,
            odata.Error?.Code,
            odata.Error?.Message,
            Header(odata, "request-id") ?? odata.Error?.InnerError?.RequestId,
            RetryAfter.Parse(Header(odata, "Retry-After"), now)),
        ApiException api => new GraphFailure(api.ResponseStatusCode, null, api.Message, Header(api, "request-id"), RetryAfter.Parse(Header(api, "Retry-After"), now)),
        TimeoutException => new GraphFailure(null, "Timeout", "Graph did not answer in time.", null, null),
        HttpRequestException http => new GraphFailure(null, "ConnectionFailed", $"The connection to Graph failed ({http.HttpRequestError}).", null, null),
        _ => null,
    };

    /// <summary>The exception a failed read turns into.</summary>
    public static ConnectorException ForRead(GraphFailure failure, string what, Exception inner) =>
        failure.IsTransient
            ? new TransientConnectorException(System, failure.Status, $"{what} failed: {failure.Describe()}", failure.RetryAfter, failure.RequestId, inner)
            : new ConnectorException(System, failure.Status, $"{what} failed: {failure.Describe()}", failure.RequestId, inner);

    /// <summary>The exception a change that failed transiently turns into: the caller retries the whole step later.</summary>
    public static TransientConnectorException ForTransientChange(GraphFailure failure, string what, Exception inner) =>
        new(System, failure.Status, $"{what} failed: {failure.Describe()}", failure.RetryAfter, failure.RequestId, inner);

    public static ChangeResult NotPermitted(GraphFailure failure, string why) =>
        new(ChangeStatus.NotPermitted, failure.RequestId, $"{why} Graph said {failure.Describe()}.");

    public static ChangeResult Failed(GraphFailure failure, string why) =>
        new(ChangeStatus.Failed, failure.RequestId, $"{why} Graph said {failure.Describe()}.");

    private static string? Header(ApiException exception, string name) =>
        exception.ResponseHeaders.TryGetValue(name, out var values) ? values.FirstOrDefault() : null;
}
