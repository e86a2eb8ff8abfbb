using System.Collections;

namespace IamFulfillment.Sandbox.Graph;

/// <summary>
/// The direct members of one group, role or unit, in the order they were added (Graph lists them that way), with a
/// set beside the list: a benchmark adds thousands of members to one group, and every memberOf lookup asks each
/// container whether it holds the member.
/// </summary>
internal sealed class MemberList : IEnumerable<string>
{
    private readonly List<string> _order = [];
    private readonly HashSet<string> _set = new(StringComparer.OrdinalIgnoreCase);

    public bool Contains(string memberId) => _set.Contains(memberId);

    /// <returns>False when the member was there already.</returns>
    public bool Add(string memberId)
    {
        if (!_set.Add(memberId))
        {
            return false;
        }

        _order.Add(memberId);
        return true;
    }

    /// <returns>False when it was not a member.</returns>
    public bool Remove(string memberId)
    {
        if (!_set.Remove(memberId))
        {
            return false;
        }

        _order.RemoveAt(_order.FindIndex(m => string.Equals(m, memberId, StringComparison.OrdinalIgnoreCase)));
        return true;
    }

    public IEnumerator<string> GetEnumerator() => _order.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
