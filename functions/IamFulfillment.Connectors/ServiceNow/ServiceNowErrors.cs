using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using RestSharp;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>Turns an unsuccessful RestSharp response into a typed connector error: status and request id, never the body.</summary>
internal static class ServiceNowErrors
{
    public const string System = "ServiceNow";

    public static ConnectorException From(RestResponse response, string what, DateTimeOffset now)
    {
        // RestSharp reports HTTP error statuses as ResponseStatus.Error too: only a missing status means no answer.
        if (response.StatusCode == 0)
        {
            var reason = response.ErrorException switch
            {
                TimeoutException => "no answer in time",
                HttpRequestException => "the connection failed",
                _ => "no answer",
            };
            return new TransientConnectorException(System, null, $"{what}: {reason}", inner: response.ErrorException);
        }

        using var message = new HttpResponseMessage(response.StatusCode);
        foreach (var header in response.Headers ?? [])
        {
            if (header.Name is { } name)
            {
                message.Headers.TryAddWithoutValidation(name, header.Value?.ToString());
            }
        }

        return HttpFailures.From(System, response.StatusCode, message.Headers, what, now);
    }

    /// <summary>A success status with a body that is not the Table API's JSON (a hibernating instance answers with a login page).</summary>
    public static TransientConnectorException NotJson(RestResponse response, string what, Exception? inner) =>
        new(System, (int)response.StatusCode, $"{what}: the answer was not Table API JSON", inner: inner);
}
