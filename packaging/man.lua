-- pandoc filter: a docs/*.md page as a man page (run with --shift-heading-level-by=-1, so the
-- page's "# name" heading becomes the title and its "## Section" headings the man sections).
-- A NAME section built from the `whatis` metadata goes first, as man(7) and whatis want; links
-- to other docs keep their text only (a man page cannot follow a relative link).
function Link(el)
  if el.target:match('^https?:') or el.target:match('^mailto:') then return nil end
  return el.content
end

function Pandoc(doc)
  local name = pandoc.utils.stringify(doc.meta.whatis or '')
  table.insert(doc.blocks, 1, pandoc.Para(pandoc.Str(name)))
  table.insert(doc.blocks, 1, pandoc.Header(1, 'NAME'))
  return doc
end

-- man(7): section headings in capitals.
function Header(el)
  if el.level == 1 then
    return pandoc.Header(1, pandoc.walk_inline(pandoc.Span(el.content), {
      Str = function(s) return pandoc.Str(pandoc.text.upper(s.text)) end,
      Code = function(c) return pandoc.Code(pandoc.text.upper(c.text)) end,
    }).content)
  end
end
