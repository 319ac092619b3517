/* How the handbook's search reads a query. handbook/hooks/search.py puts this function at the
 * top of Material's search worker and calls it where Material segmented Chinese itself.
 *
 * Material's own segmentation (search/_/index.ts, "experimental") never tries the whole of a
 * Chinese run as one token (its inner loop stops one character short), so 群规 became 群* and
 * matched every page; and it leaves 150人 as one term, which no token in the index equals.
 * Here:
 *
 * 0. Chinese punctuation is a space, as the index's separator has it (mkdocs.yml): 群规，打卡
 *    is two words, and a mark alone is no word.
 * 1. Digits or Latin letters next to Chinese are a word of their own, as the index has them
 *    (the build cuts only Chinese with jieba): 150人 -> 150 人, VIP群 -> VIP 群.
 * 2. Each Chinese run is cut into the index's own tokens, longest first from the left; a
 *    character no token starts with stays on its own (and so matches nothing).
 * 3. Every word is required (+): a reader who types 群二维码 or 150人 wants pages with all of
 *    it, not pages with any part. Chinese tokens must match whole (the index holds jieba's
 *    words); other words may be the start of a word (+kol* finds KOL while typing).
 * 4. A word with no Chinese is first put through the index's own search pipeline: the English
 *    index stems (rules -> rule), and Lunr runs no pipeline on a word with a wildcard, so
 *    +rules* would never meet the index's "rule". Hyphens and apostrophes cut such words as
 *    the index's separator does (check-in -> check in); a stop word the pipeline drops is no
 *    word of the query.
 *
 * The result is a Lunr query string; Material's own transform and parser take it from there.
 */
function qunbookQuery(query, index, pipeline) {
  var han = /\p{sc=Han}/u
  query = query.replace(/[，。、：；！？“”‘’（）【】「」『』《》〈〉…—·｜|÷×/=→]+/g, " ")
  var spaced = query.replace(/(\p{sc=Han})(?=[0-9A-Za-z])|([0-9A-Za-z])(?=\p{sc=Han})/gu, "$1$2 ")
  var terms = []
  spaced.split(/\s+/).forEach(function (word) {
    if (!word)
      return
    if (/^[+\-]|[*~^:]/.test(word)) {
      terms.push(word) // Lunr syntax the reader typed
      return
    }
    word.replace(/\p{sc=Han}+|[^\p{sc=Han}]+/gu, function (run) {
      if (!han.test(run)) {
        // A word with no Chinese: required, stemmed as the index is, as a prefix
        run.toLowerCase().split(/[^0-9a-z.\u00c0-\u024f]+/).forEach(function (part) {
          part = part.replace(/^\.+|\.+$/g, "")
          var stem = part && pipeline ? pipeline.runString(part)[0] : part
          if (stem)
            terms.push("+" + stem + "*")
        })
        return run
      }
      for (var i = 0; i < run.length;) {
        var cut = 1
        for (var j = run.length; j > i + 1; j--)
          if (Object.prototype.hasOwnProperty.call(index, run.slice(i, j))) {
            cut = j - i
            break
          }
        terms.push("+" + run.slice(i, i + cut))
        i += cut
      }
      return run
    })
  })
  return terms.join(" ")
}
