using System.Text;
using Domain.Common;

namespace Domain.Datasets;

/// <summary>
/// Reads CSV records as RFC 4180 defines them: a record ends at CRLF, LF or CR outside quotes; a field that starts with a
/// double quote (blanks before it allowed) runs to the matching closing quote and may hold delimiters, line breaks and
/// escaped quotes (<c>""</c>); a quote inside an unquoted field is an ordinary character. Records are bounded by
/// <see cref="DatasetLimitsOptions.MaxCsvLineLength"/> characters, checked as they are read, so no line is ever held whole
/// beyond that. Errors name the file's field and the 1-based line the record starts on.
/// </summary>
/// <remarks>
/// Hand-written rather than a NuGet parser because Domain takes no package references (STYLE.md); it is a small state
/// machine, and the conversion reads each file twice, so the delimiter is known when records are split.
/// </remarks>
public sealed class CsvRecordReader
{
    private readonly TextReader _reader;
    private readonly string _field;
    private readonly long _maxLength;
    private readonly string _delimiters;
    private readonly char[] _buffer = new char[1 << 14];
    private readonly StringBuilder _record = new();
    private int _position;
    private int _length;
    private int _lines;

    /// <param name="delimiters">Characters that end a field: the detected delimiter, or every candidate while detecting.</param>
    public CsvRecordReader(TextReader reader, string field, long maxLength, string delimiters)
    {
        _reader = reader;
        _field = field;
        _maxLength = maxLength;
        _delimiters = delimiters;
    }

    private enum State { FieldStart, Unquoted, Quoted, QuoteInQuoted }

    /// <summary>The next record that is not blank, with quotes and embedded line breaks as sent, and the line it starts on; null at the end.</summary>
    public (string? Text, int Line) Next()
    {
        while (true)
        {
            (string? text, int line) = ReadRecord();
            if (text is null || !string.IsNullOrWhiteSpace(text))
            {
                return (text, line);
            }
        }
    }

    private (string? Text, int Line) ReadRecord()
    {
        _record.Clear();
        int line = _lines + 1;
        int c = Read();
        if (c < 0)
        {
            return (null, line);
        }
        State state = State.FieldStart;
        while (c >= 0)
        {
            if (c is '\r' or '\n')
            {
                if (c == '\r' && Peek() == '\n')
                {
                    Read();
                    if (state == State.Quoted)
                    {
                        Append('\r');
                        c = '\n';
                    }
                }
                _lines++;
                if (state != State.Quoted)
                {
                    return (_record.ToString(), line);
                }
            }
            else
            {
                state = (state, c) switch
                {
                    (State.Quoted, '"') => State.QuoteInQuoted,
                    (State.Quoted, _) => State.Quoted,
                    (State.QuoteInQuoted, '"') => State.Quoted,
                    (_, _) when _delimiters.Contains((char)c) => State.FieldStart,
                    (State.FieldStart, '"') => State.Quoted,
                    (State.FieldStart, ' ' or '\t') => State.FieldStart,
                    _ => State.Unquoted,
                };
            }
            Append((char)c);
            c = Read();
        }
        if (state == State.Quoted)
        {
            throw new DomainValidationException(_field, $"line {line}: has a quoted field that is not closed before the end of the file.");
        }
        _lines++;
        return (_record.ToString(), line);

        void Append(char ch)
        {
            _record.Append(ch);
            if (_record.Length > _maxLength)
            {
                throw new DomainValidationException(_field,
                    $"line {line}: is longer than {_maxLength} characters; {DatasetLimitsOptions.Describe(_maxLength, nameof(DatasetLimitsOptions.MaxCsvLineLength))}.");
            }
        }
    }

    private int Peek()
    {
        if (_position == _length && !Fill())
        {
            return -1;
        }
        return _buffer[_position];
    }

    private int Read()
    {
        if (_position == _length && !Fill())
        {
            return -1;
        }
        return _buffer[_position++];
    }

    private bool Fill()
    {
        _length = _reader.Read(_buffer, 0, _buffer.Length);
        _position = 0;
        return _length > 0;
    }

    /// <summary>How many times <paramref name="delimiter"/> occurs outside quoted fields of a record.</summary>
    public static int CountDelimiters(string record, char delimiter)
    {
        int count = 0;
        bool quoted = false;
        foreach (char c in record)
        {
            if (c == '"')
            {
                quoted = !quoted; // an escaped quote ("") flips twice
            }
            else if (c == delimiter && !quoted)
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>
    /// The fields of a record: unquoted fields are trimmed of blanks, quoted ones are taken exactly (delimiters, line
    /// breaks and <c>""</c> as a quote inside); only blanks may follow a closing quote.
    /// </summary>
    public static string[] Split(string record, char delimiter, string field, int line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        State state = State.FieldStart;
        bool closed = false; // a quoted field has ended; only blanks may follow until the delimiter
        foreach (char c in record)
        {
            switch (state)
            {
                case State.FieldStart when c == delimiter:
                    cells.Add("");
                    break;
                case State.FieldStart when c is ' ' or '\t':
                    break;
                case State.FieldStart when c == '"':
                    state = State.Quoted;
                    break;
                case State.FieldStart:
                    cell.Append(c);
                    state = State.Unquoted;
                    break;
                case State.Unquoted when c == delimiter:
                    cells.Add(cell.ToString().Trim());
                    cell.Clear();
                    state = State.FieldStart;
                    break;
                case State.Unquoted:
                    cell.Append(c);
                    break;
                case State.Quoted when c == '"':
                    state = State.QuoteInQuoted;
                    break;
                case State.Quoted:
                    cell.Append(c);
                    break;
                case State.QuoteInQuoted when c == '"' && !closed:
                    cell.Append('"');
                    state = State.Quoted;
                    break;
                case State.QuoteInQuoted when c == delimiter:
                    cells.Add(cell.ToString());
                    cell.Clear();
                    closed = false;
                    state = State.FieldStart;
                    break;
                case State.QuoteInQuoted when c is ' ' or '\t' or '\r' or '\n':
                    closed = true;
                    break;
                case State.QuoteInQuoted:
                    throw new DomainValidationException(field,
                        $"line {line}: has '{c}' after the closing quote of field {cells.Count + 1}; a quoted field ends at its closing quote (write a quote inside it as \"\").");
            }
        }
        switch (state)
        {
            case State.Quoted:
                throw new DomainValidationException(field, $"line {line}: field {cells.Count + 1} has an opening quote but no closing one.");
            case State.QuoteInQuoted:
                cells.Add(cell.ToString());
                break;
            case State.FieldStart:
                cells.Add("");
                break;
            default:
                cells.Add(cell.ToString().Trim());
                break;
        }
        return [.. cells];
    }
}
