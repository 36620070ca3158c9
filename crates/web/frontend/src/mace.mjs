// mace's progressive enhancement. Every page works without this script; it only adds
// GOV.UK Frontend's behaviour (menu toggles, error summary focus, and so on) where the
// browser supports ES modules and the body carries `govuk-frontend-supported`, and saves
// drafts in the background on forms that ask for it.
import { initAll } from './govuk-frontend.min.js'

initAll()

// A form with `data-autosave="URL"` is posted there (as the form itself would be, CSRF token
// included) a few seconds after the last change, so a timeout never loses what was typed. The
// "Save as draft" button does the same without JavaScript.
const AUTOSAVE_DELAY_MS = 3000

function autosave (form) {
  const url = form.dataset.autosave
  const status = form.querySelector('#draft-status')
  let timer = null
  let last = null
  const save = async () => {
    const body = new URLSearchParams(new FormData(form))
    const text = body.toString()
    if (text === last) return
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' }
      })
      if (res.status === 204) {
        last = text
        if (status) {
          const t = new Date()
          const hh = String(t.getHours()).padStart(2, '0')
          const mm = String(t.getMinutes()).padStart(2, '0')
          status.textContent = `Draft saved at ${hh}:${mm}. Only you can see it.`
        }
      } else if (status) {
        status.textContent = 'Your draft could not be saved. Use ‘Save as draft’ before you leave this page.'
      }
    } catch (e) {
      if (status) status.textContent = 'Your draft could not be saved. Check your connection.'
    }
  }
  const later = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(save, AUTOSAVE_DELAY_MS)
  }
  form.addEventListener('input', later)
  form.addEventListener('change', later)
}

document.querySelectorAll('form[data-autosave]').forEach(autosave)
