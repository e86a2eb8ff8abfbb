using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Requests;

/// <summary>
/// A request that passed every completeness and identity check: the target and requester are exactly one
/// directory user each, the entitlements are catalog entries. Only the decision engine can make one, and
/// fulfilment plans can only be made from one.
/// </summary>
public sealed class ValidatedAccessRequest
{
    internal ValidatedAccessRequest(AccessRequest source, RequestType type, DirectoryUser target, DirectoryUser requester, IReadOnlyList<CatalogEntry> entitlements)
    {
        Source = source;
        Type = type;
        Target = target;
        Requester = requester;
        Entitlements = entitlements;
    }

    public AccessRequest Source { get; }
    public RequestType Type { get; }
    public DirectoryUser Target { get; }
    public DirectoryUser Requester { get; }
    public IReadOnlyList<CatalogEntry> Entitlements { get; }
    public TicketRef Ticket => Source.Ticket;
    public DateTimeOffset? Until => Source.EndDate;
}
