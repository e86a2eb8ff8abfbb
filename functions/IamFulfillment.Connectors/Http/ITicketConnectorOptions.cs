namespace IamFulfillment.Connectors.Http;

/// <summary>What the REST ticket connectors (ServiceNow, Jira) share in their options: the call timeout and the retry layer.</summary>
public interface ITicketConnectorOptions
{
    /// <summary>Time allowed for one try of one call.</summary>
    int TimeoutSeconds { get; }

    /// <summary>Retry layer settings; bound from the connector's <c>Retry</c> section.</summary>
    RetryOptions Retry { get; }
}
