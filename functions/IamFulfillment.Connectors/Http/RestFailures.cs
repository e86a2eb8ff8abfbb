using IamFulfillment.Core.Ports;
using RestSharp;

namespace IamFulfillment.Connectors.Http;

/// <summary>Turns an unsuccessful RestSharp response into a typed connector error: status and request id, never the body.</summary>
internal static class RestFailures
{
    public static ConnectorException From(string system, RestResponse response, string what, DateTimeOffset now)
    {
        // RestSharp reports an HTTP error status as ResponseStatus.Error too: only a missing status means no answer came.
        if (response.StatusCode == 0)
        {
            var reason = response.ErrorException switch
            {
                TimeoutException => "no answer in time",
                HttpRequestException => "the connection failed",
                _ => "no answer",
            };
            return new TransientConnectorException(system, null, $"{what}: {reason}", inner: response.ErrorException);
        }

        using var message = new HttpResponseMessage(response.StatusCode);
        foreach (var header in response.Headers ?? [])
        {
            if (header.Name is { } name)
            {
                message.Headers.TryAddWithoutValidation(name, header.Value?.ToString());
            }
        }

        return HttpFailures.From(system, response.StatusCode, message.Headers, what, now);
    }
}
