using System.Net;
using System.Net.Http.Headers;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Http;

/// <summary>Turns an unsuccessful response into a typed connector error: system, status, request id — never the body.</summary>
public static class HttpFailures
{
    private static readonly string[] RequestIdHeaders = ["request-id", "x-ms-request-id", "X-Transaction-ID", "X-AREQUESTID", "X-Request-Id"];

    public static ConnectorException From(string system, HttpStatusCode status, HttpResponseHeaders? headers, string what, DateTimeOffset now)
    {
        var requestId = RequestId(headers);
        var code = (int)status;
        if (IsTransient(status))
        {
            var wait = headers is null ? null : RetryAfter.From(headers, now);
            return new TransientConnectorException(system, code, what, wait, requestId);
        }

        return new ConnectorException(system, code, what, requestId);
    }

    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    public static string? RequestId(HttpResponseHeaders? headers)
    {
        if (headers is null)
        {
            return null;
        }

        foreach (var name in RequestIdHeaders)
        {
            if (headers.TryGetValues(name, out var values) && values.FirstOrDefault() is { Length: > 0 } id)
            {
                return id.Length > 100 ? id[..100] : id;
            }
        }

        return null;
    }
}
