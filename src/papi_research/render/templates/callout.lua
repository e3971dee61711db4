-- papi-research: Quarto-style callout divs (::: {.callout-note}) as Typst boxes for the builtin PDF.
local kinds = { ["callout-note"] = "note", ["callout-warning"] = "warning",
                ["callout-important"] = "warning", ["callout-tip"] = "note", ["callout-caution"] = "warning" }

function Div(el)
  for _, cls in ipairs(el.classes) do
    local kind = kinds[cls]
    if kind then
      local out = { pandoc.RawBlock("typst", '#papi-callout(kind: "' .. kind .. '")[') }
      for _, b in ipairs(el.content) do table.insert(out, b) end
      table.insert(out, pandoc.RawBlock("typst", "]"))
      return out
    end
  end
end
