using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using RestSharp;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>Turns an unsuccessful RestSharp response into a typed connector error: status and request id, never the body.</summary>
internal static class ServiceNowErrors
{
    public const string System = "ServiceNow";

    public static ConnectorException From(RestResponse response, string what, DateTimeOffset now) =>
        RestFailures.From(System, response, what, now);

    /// <summary>A success status with a body that is not the Table API's JSON (a hibernating instance answers with a login page).</summary>
    public static TransientConnectorException NotJson(RestResponse response, string what, Exception? inner) =>
        new(System, (int)response.StatusCode, $"{what}: the answer was not Table API JSON", inner: inner);
}
