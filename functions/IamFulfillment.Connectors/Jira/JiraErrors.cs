using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using RestSharp;

namespace IamFulfillment.Connectors.Jira;

/// <summary>Turns an unsuccessful RestSharp response into a typed connector error: status and request id, never the body.</summary>
internal static class JiraErrors
{
    public const string System = "Jira";

    public static ConnectorException From(RestResponse response, string what, DateTimeOffset now) =>
        RestFailures.From(System, response, what, now);

    /// <summary>A success status whose body is not the API's JSON (a proxy or login page answered instead).</summary>
    public static TransientConnectorException NotJson(RestResponse response, string what, Exception? inner) =>
        new(System, (int)response.StatusCode, $"{what}: the answer was not Jira JSON", inner: inner);

    /// <summary>The configured transition cannot be taken from the issue's current status: a workflow or configuration problem, not transient.</summary>
    public static ConnectorException TransitionUnavailable(string issueKey, string configured, string key, string? currentStatus, IEnumerable<string> available)
    {
        var names = available.ToList();
        var list = names.Count == 0 ? "none" : string.Join(", ", names.Select(n => $"\"{n}\""));
        var from = currentStatus is null ? "" : $" from status \"{currentStatus}\"";
        return new ConnectorException(System, null,
            $"transition \"{configured}\" ({key}) is not available for {issueKey}{from}; available transitions: {list}. Check {key} against the project's workflow.");
    }
}
