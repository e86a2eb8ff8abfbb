using System.Globalization;
using System.Text;

namespace IamFulfillment.Sandbox.Graph;

/// <summary>
/// The small part of OData <c>$filter</c> the sandbox understands: <c>eq</c> and <c>ne</c> comparisons of a property
/// path (<c>mail</c>, <c>onPremisesExtensionAttributes/extensionAttribute5</c>) with a literal (strings with
/// <c>''</c> escaping, <c>true</c>, <c>false</c>, <c>null</c>, numbers), combined with <c>and</c>, <c>or</c> and
/// parentheses. Anything else is reported as unsupported, the way Graph refuses queries it cannot run.
/// </summary>
internal abstract record ODataFilter
{
    public abstract bool Evaluate(Func<string, object?> property);

    /// <summary>Every property path the filter compares.</summary>
    public abstract IEnumerable<ODataComparison> Comparisons();

    public static ODataFilter Parse(string text) => new Parser(text).ParseAll();

    internal sealed record Or(IReadOnlyList<ODataFilter> Terms) : ODataFilter
    {
        public override bool Evaluate(Func<string, object?> property) => Terms.Any(t => t.Evaluate(property));

        public override IEnumerable<ODataComparison> Comparisons() => Terms.SelectMany(t => t.Comparisons());
    }

    internal sealed record And(IReadOnlyList<ODataFilter> Terms) : ODataFilter
    {
        public override bool Evaluate(Func<string, object?> property) => Terms.All(t => t.Evaluate(property));

        public override IEnumerable<ODataComparison> Comparisons() => Terms.SelectMany(t => t.Comparisons());
    }

    internal sealed record Compare(ODataComparison Comparison) : ODataFilter
    {
        public override bool Evaluate(Func<string, object?> property)
        {
            var actual = property(Comparison.Path);
            var equal = Comparison.Literal switch
            {
                null => actual is null,
                string s => actual is string a && string.Equals(a, s, StringComparison.OrdinalIgnoreCase),
                bool b => actual is bool a && a == b,
                decimal d => actual is not null && decimal.TryParse(Convert.ToString(actual, CultureInfo.InvariantCulture), NumberStyles.Number, CultureInfo.InvariantCulture, out var a) && a == d,
                _ => false,
            };
            return Comparison.Operator == "ne" ? !equal : equal;
        }

        public override IEnumerable<ODataComparison> Comparisons() => [Comparison];
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public ODataFilter ParseAll()
        {
            var result = ParseOr();
            SkipSpace();
            if (_pos < text.Length)
            {
                throw new ODataFilterException($"Syntax error at position {_pos} in '{text}'.");
            }

            return result;
        }

        private ODataFilter ParseOr()
        {
            var terms = new List<ODataFilter> { ParseAnd() };
            while (TryKeyword("or"))
            {
                terms.Add(ParseAnd());
            }

            return terms.Count == 1 ? terms[0] : new Or(terms);
        }

        private ODataFilter ParseAnd()
        {
            var terms = new List<ODataFilter> { ParseAtom() };
            while (TryKeyword("and"))
            {
                terms.Add(ParseAtom());
            }

            return terms.Count == 1 ? terms[0] : new And(terms);
        }

        private ODataFilter ParseAtom()
        {
            SkipSpace();
            if (Peek() == '(')
            {
                _pos++;
                var inner = ParseOr();
                SkipSpace();
                Expect(')');
                return inner;
            }

            var path = ReadPath();
            SkipSpace();
            if (Peek() == '(')
            {
                throw new ODataFilterUnsupportedException($"The function '{path}' is not supported.");
            }

            var op = ReadWord();
            if (op is not ("eq" or "ne"))
            {
                throw new ODataFilterUnsupportedException($"The operator '{op}' is not supported.");
            }

            return new Compare(new ODataComparison(path, op, ReadLiteral()));
        }

        private string ReadPath()
        {
            SkipSpace();
            var start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '_' or '/' or '.'))
            {
                _pos++;
            }

            if (_pos == start)
            {
                throw new ODataFilterException($"Expected a property name at position {start} in '{text}'.");
            }

            return text[start.._pos];
        }

        private string ReadWord()
        {
            SkipSpace();
            var start = _pos;
            while (_pos < text.Length && char.IsLetter(text[_pos]))
            {
                _pos++;
            }

            return text[start.._pos].ToLowerInvariant();
        }

        private object? ReadLiteral()
        {
            SkipSpace();
            if (Peek() == '\'')
            {
                _pos++;
                var value = new StringBuilder();
                while (true)
                {
                    if (_pos >= text.Length)
                    {
                        throw new ODataFilterException($"Unterminated string literal in '{text}'.");
                    }

                    var c = text[_pos++];
                    if (c != '\'')
                    {
                        value.Append(c);
                    }
                    else if (Peek() == '\'')
                    {
                        value.Append('\'');
                        _pos++;
                    }
                    else
                    {
                        return value.ToString();
                    }
                }
            }

            var start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '-' or '.'))
            {
                _pos++;
            }

            var word = text[start.._pos];
            return word.ToLowerInvariant() switch
            {
                "true" => true,
                "false" => false,
                "null" => null,
                _ when decimal.TryParse(word, NumberStyles.Number, CultureInfo.InvariantCulture, out var number) => number,
                _ => throw new ODataFilterException($"Expected a literal at position {start} in '{text}'."),
            };
        }

        private bool TryKeyword(string keyword)
        {
            SkipSpace();
            var end = _pos + keyword.Length;
            if (end < text.Length && string.Compare(text, _pos, keyword, 0, keyword.Length, StringComparison.OrdinalIgnoreCase) == 0
                && (char.IsWhiteSpace(text[end]) || text[end] == '('))
            {
                _pos = end;
                return true;
            }

            return false;
        }

        private void Expect(char c)
        {
            if (Peek() != c)
            {
                throw new ODataFilterException($"Expected '{c}' at position {_pos} in '{text}'.");
            }

            _pos++;
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }
    }
}

internal sealed record ODataComparison(string Path, string Operator, object? Literal);

/// <summary>The filter is not valid OData.</summary>
internal class ODataFilterException(string message) : Exception(message);

/// <summary>The filter is valid OData but uses something the sandbox (like Graph for that property) does not support.</summary>
internal sealed class ODataFilterUnsupportedException(string message) : ODataFilterException(message);
