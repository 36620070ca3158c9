// mace's progressive enhancement. Every page works without this script; it only adds
// GOV.UK Frontend's behaviour (menu toggles, error summary focus, and so on) where the
// browser supports ES modules and the body carries `govuk-frontend-supported`.
import { initAll } from './govuk-frontend.min.js'

initAll()
